// The grid's column-header menu: a "⋮" button in every field column's header opens the
// actions on that column — sort ascending/descending, filter by it (the filter builder
// opens with a condition on the field), hide it, and, for those who manage the catalog,
// edit the field or insert a new one left/right of it (the field designer, which brings
// them back to the grid). Only actions the user may do are offered.
//
// Keyboard: the button is in the Tab order; in the grid, Alt+ArrowDown (or the context-menu
// key, or Shift+F10) opens the active column's menu. In the menu, arrows/Home/End move,
// Enter or Space acts, Esc or Tab closes it and focus returns where it was.
import { escapeHtml, strings } from "./ui.js";

export class ColumnMenu {
  constructor(grid) {
    this.grid = grid;
    this.menu = null;
    this.opener = null;
    this.onOutside = (e) => {
      if (this.menu && !this.menu.contains(e.target) && e.target !== this.opener) this.close(false);
    };
    grid.host.addEventListener("keydown", (e) => {
      const wanted = (e.altKey && e.key === "ArrowDown") || e.key === "ContextMenu" || (e.shiftKey && e.key === "F10");
      if (!wanted || e.target.closest(".tabulator-editing")) return;
      const name = grid.keys?.field || this.firstField();
      const column = name && grid.table.getColumn(name);
      if (!column) return;
      e.preventDefault();
      this.open(column, grid.host);
    });
    this.decorate();
  }

  firstField() {
    const col = this.grid.table.getColumns().find((c) => c.isVisible() && this.grid.fields[c.getField()]);
    return col ? col.getField() : null;
  }

  /** A menu button in every field column's header (once; Tabulator keeps header elements). */
  decorate() {
    for (const column of this.grid.table.getColumns()) {
      const field = this.grid.fields[column.getField()];
      const title = column.getElement().querySelector(".tabulator-col-title-holder");
      if (!field || !title || title.querySelector(".col-menu-button")) continue;
      if (field.help) column.getElement().title = `${field.name}: ${field.help}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "col-menu-button";
      button.setAttribute("aria-haspopup", "menu");
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-label", `${strings().column_menu}: ${field.name}`);
      button.textContent = "⋮";
      // Neither a sort (header click) nor a column drag (mousedown) starts from the button.
      for (const kind of ["mousedown", "pointerdown", "click", "dblclick"]) {
        button.addEventListener(kind, (e) => e.stopPropagation());
      }
      button.addEventListener("click", () => (this.menu && this.opener === button ? this.close(true) : this.open(column, button)));
      button.addEventListener("keydown", (e) => {
        if (e.key === "ArrowDown" || e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          e.stopPropagation();
          this.open(column, button);
        }
      });
      title.appendChild(button);
    }
  }

  items(column) {
    const s = strings();
    const grid = this.grid;
    const f = grid.fields[column.getField()];
    const designer = grid.cfg.designer;
    const back = encodeURIComponent(window.location.pathname + window.location.search);
    const out = [];
    if (f.sortable) {
      out.push({ label: s.sort_az, act: () => this.sort(f, "") });
      out.push({ label: s.sort_za, act: () => this.sort(f, "-") });
    }
    if (f.filterable && grid.filterBuilder) out.push({ label: s.filter_by, act: () => this.filter(f) });
    out.push({ label: s.hide_column, act: () => this.hide(column) });
    if (designer && f.id) {
      out.push({ sep: true });
      out.push({ label: s.edit_field, href: `${designer}/fields/${f.id}?back=${back}` });
      out.push({ label: s.insert_left, href: `${designer}/fields/new?left=${f.id}&back=${back}` });
      out.push({ label: s.insert_right, href: `${designer}/fields/new?right=${f.id}&back=${back}` });
      out.push({ label: s.all_fields, href: `${designer}/fields` });
    }
    return out;
  }

  open(column, opener) {
    this.close(false);
    const f = this.grid.fields[column.getField()];
    const menu = document.createElement("div");
    menu.className = "col-menu";
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", f.name);
    for (const item of this.items(column)) {
      if (item.sep) {
        const sep = document.createElement("div");
        sep.setAttribute("role", "separator");
        menu.appendChild(sep);
        continue;
      }
      const el = document.createElement(item.href ? "a" : "button");
      if (item.href) el.href = item.href;
      else el.type = "button";
      el.setAttribute("role", "menuitem");
      el.tabIndex = -1;
      el.innerHTML = escapeHtml(item.label);
      el.addEventListener("click", (e) => {
        if (item.href) return; // a link goes where it points
        e.preventDefault();
        this.close(true);
        item.act();
      });
      menu.appendChild(el);
    }
    menu.addEventListener("keydown", (e) => this.onKey(e));
    document.body.appendChild(menu);
    const box = (opener === this.grid.host ? column.getElement() : opener).getBoundingClientRect();
    const width = menu.offsetWidth;
    menu.style.left = `${Math.max(4, Math.min(box.left, window.innerWidth - width - 4))}px`;
    menu.style.top = `${box.bottom + 2}px`;
    this.menu = menu;
    this.opener = opener;
    if (opener !== this.grid.host) opener.setAttribute("aria-expanded", "true");
    document.addEventListener("mousedown", this.onOutside, true);
    this.entries()[0]?.focus();
  }

  entries() {
    return this.menu ? [...this.menu.querySelectorAll("[role=menuitem]")] : [];
  }

  onKey(e) {
    const list = this.entries();
    const at = list.indexOf(document.activeElement);
    const go = (i) => list[(i + list.length) % list.length]?.focus();
    if (e.key === "ArrowDown") go(at + 1);
    else if (e.key === "ArrowUp") go(at - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(list.length - 1);
    else if (e.key === "Escape") this.close(true);
    else if (e.key === "Tab") {
      this.close(true);
    } else if (e.key === " " && document.activeElement?.tagName === "A") {
      document.activeElement.click();
    } else return;
    e.preventDefault();
    e.stopPropagation();
  }

  close(refocus) {
    if (!this.menu) return;
    this.menu.remove();
    this.menu = null;
    document.removeEventListener("mousedown", this.onOutside, true);
    const opener = this.opener;
    this.opener = null;
    if (opener && opener !== this.grid.host) opener.setAttribute("aria-expanded", "false");
    if (refocus && opener) opener.focus({ preventScroll: true });
  }

  sort(field, sign) {
    this.grid.sort = `${sign}${field.api_name}`;
    this.grid.decorateHeaders();
    this.grid.reload();
  }

  hide(column) {
    column.hide();
    this.grid.markChanged();
    this.grid.host.focus({ preventScroll: true });
  }

  /** The filter builder opens with a new condition on the field, its value input focused. */
  filter(field) {
    const { filterBuilder: builder, filterPanel: panel, filterButton: button } = this.grid;
    const form = panel.querySelector("form");
    if (!panel.hidden && form) builder.collect(form);
    builder.rows.push({ field: field.api_name, op: builder.operators(field)[0], value: null });
    panel.hidden = false;
    button?.setAttribute("aria-expanded", "true");
    builder.render();
    const last = panel.querySelector(".condition:last-child");
    (last?.querySelector("[name=value], input, select:last-of-type") || last?.querySelector("select"))?.focus();
  }
}
