// Keyboard in the grid, the way a spreadsheet user expects it (the ARIA grid pattern):
// the grid is one stop in the Tab order; arrows move the active cell, Home/End go to the
// row's ends (with Ctrl: the first/last row), PageUp/PageDown move ten rows, Enter or F2
// edits an editable cell (or opens the record from the # and title columns), Space ticks
// the row, Esc cancels an edit. After an edit, and after the card opened from a cell is
// closed, focus comes back to the same cell. The active cell is announced through
// aria-activedescendant, so a screen reader reads it without moving DOM focus.
const STEP_PAGE = 10;

export class GridKeys {
  constructor(grid) {
    this.grid = grid;
    this.table = grid.table;
    this.host = grid.host;
    this.row = 0; // position among the displayed rows
    this.field = null; // the active column's field
    this.cell = null;
    this.host.addEventListener("keydown", (e) => this.onKey(e));
    // Tab in an editor saves it and makes the neighbouring cell active (not the next
    // control on the page): the editor's blur commits, then focus comes back here.
    this.host.addEventListener(
      "keydown",
      (e) => {
        if (e.key !== "Tab" || !e.target.closest(".tabulator-cell.tabulator-editing") || e.target.classList.contains("tabulator-cell")) return;
        e.preventDefault();
        this.step(e.shiftKey);
        e.target.blur();
      },
      true,
    );
    this.host.addEventListener("focus", (e) => {
      if (e.target === this.host) this.show(false);
    });
    this.table.on("cellClick", (e, cell) => {
      if (!cell.getField()) return; // the tick box column
      this.moveTo(cell.getRow().getPosition() - 1, cell.getField(), false);
    });
    this.table.on("cellEdited", () => this.back());
    this.table.on("cellEditCancelled", () => this.back());
    // Rows re-rendered while scrolling keep their elements, but a reload replaces them.
    this.table.on("dataProcessed", () => this.show(false));
  }

  rows() {
    return this.table.getRows("active");
  }

  fields() {
    return this.table
      .getColumns()
      .filter((c) => c.isVisible() && c.getField())
      .map((c) => c.getField());
  }

  current() {
    const row = this.rows()[this.row];
    if (!row || !this.field) return null;
    return row.getCell(this.field) || null;
  }

  /** Make row `r` (position), column `field` the active cell; scroll it into view. */
  moveTo(r, field, scroll = true) {
    const rows = this.rows();
    if (!rows.length) return;
    const fields = this.fields();
    this.row = Math.max(0, Math.min(rows.length - 1, r));
    this.field = fields.includes(field) ? field : fields[0];
    this.show(scroll);
    // Near the end of the loaded rows: fetch the next page like scrolling does.
    if (this.row > rows.length - STEP_PAGE) this.grid.maybeMore(true);
  }

  show(scroll) {
    const rows = this.rows();
    if (!rows.length) {
      this.host.removeAttribute("aria-activedescendant");
      return;
    }
    if (this.field == null || !this.fields().includes(this.field)) this.field = this.fields()[1] || this.fields()[0];
    if (this.row >= rows.length) this.row = rows.length - 1;
    const cell = this.current();
    if (!cell) return;
    // The old cell may be gone with its row (deleted here or by someone else).
    const old = this.cell && this.cell !== cell ? this.cell.getElement() : null;
    if (old) {
      old.classList.remove("cell-active");
      old.removeAttribute("aria-selected");
    }
    this.cell = cell;
    const row = rows[this.row];
    if (scroll) {
      this.table.scrollToRow(row, "nearest", false).catch(() => {});
      this.table.scrollToColumn(this.field, "middle", false).catch(() => {});
    }
    const el = cell.getElement();
    if (!el.id) el.id = `gc-${row.getIndex()}-${this.field}`.replace(/[^\w-]/g, "_");
    el.classList.add("cell-active");
    el.setAttribute("aria-selected", "true");
    this.host.setAttribute("aria-activedescendant", el.id);
  }

  /** After an edit (saved or cancelled): focus back on the grid, on the same cell. */
  back() {
    setTimeout(() => {
      const active = document.activeElement;
      if (active === document.body || active === null || this.host.contains(active)) {
        this.host.focus({ preventScroll: true });
        this.show(false);
      }
    }, 0);
  }

  onKey(e) {
    // An editor inside has its own keys; a cell focused by a click passes them on.
    if (e.altKey || (e.target !== this.host && !e.target.classList.contains("tabulator-cell"))) return;
    const fields = this.fields();
    const col = Math.max(0, fields.indexOf(this.field));
    const last = this.rows().length - 1;
    const moves = {
      ArrowUp: () => this.moveTo(this.row - 1, this.field),
      ArrowDown: () => this.moveTo(this.row + 1, this.field),
      ArrowLeft: () => this.moveTo(this.row, fields[Math.max(0, col - 1)]),
      ArrowRight: () => this.moveTo(this.row, fields[Math.min(fields.length - 1, col + 1)]),
      PageUp: () => this.moveTo(this.row - STEP_PAGE, this.field),
      PageDown: () => this.moveTo(this.row + STEP_PAGE, this.field),
      Home: () => this.moveTo(e.ctrlKey || e.metaKey ? 0 : this.row, e.ctrlKey || e.metaKey ? this.field : fields[0]),
      End: () => this.moveTo(e.ctrlKey || e.metaKey ? last : this.row, e.ctrlKey || e.metaKey ? this.field : fields[fields.length - 1]),
      Enter: () => this.activate(e.shiftKey),
      F2: () => this.activate(false),
      " ": () => this.toggleRow(),
    };
    const move = moves[e.key];
    if (!move || (e.ctrlKey && !["Home", "End"].includes(e.key))) return;
    e.preventDefault();
    move();
  }

  /** Enter: edit the cell when it is editable, else open the record's card (Shift+Enter
   * opens the card from any cell). */
  activate(open) {
    const cell = this.current();
    if (!cell) return;
    if (!open && cell.getColumn().getDefinition().editable) cell.edit(true);
    else this.grid.open(this.grid.cardUrl(cell.getRow().getIndex()));
  }

  toggleRow() {
    const row = this.rows()[this.row];
    if (row) row.toggleSelect();
  }

  /** Tab or Shift+Tab inside an editor: the edit is saved, the neighbour becomes active. */
  step(back) {
    const fields = this.fields();
    const col = fields.indexOf(this.field);
    const next = fields[col + (back ? -1 : 1)];
    if (next) this.field = next;
  }
}
