// The table view: Tabulator over the REST API. Rows arrive by keyset cursor as the user
// scrolls (no count per page; the count is asked once, lazily), sorting is done by the
// server (click a header, shift-click for several), cells are edited in place and saved
// with PATCH — a refusal restores the old value and shows the server's reason by the cell.
import {
  EditModule,
  FormatModule,
  FrozenColumnsModule,
  GroupRowsModule,
  InteractionModule,
  MoveColumnsModule,
  ResizeColumnsModule,
  SelectRowModule,
  Tabulator,
} from "tabulator-tables";
import { plainAmount } from "./amounts.js";
import { api, ApiError } from "./api.js";
import { BulkEdit } from "./bulkedit.js";
import { ColumnMenu } from "./colmenu.js";
import { FilterBuilder } from "./filter.js";
import { GridKeys } from "./gridnav.js";
import { groupMenu, Grouping, SaveAsView, viewState } from "./gridviews.js";
import { follow } from "./live.js";
import { openPanel } from "./panel.js";
import { codeMessage, escapeHtml, strings, toast, valueHtml } from "./ui.js";

/** "36 records" / "36 записей": the number in the page's locale, the word in its plural form. */
function countText(count) {
  const lang = document.documentElement.lang;
  const s = strings();
  const form = s[`count_${new Intl.PluralRules(lang).select(count)}`] || s.count_other;
  return form.replace("%(num)d", count.toLocaleString(lang));
}

Tabulator.registerModule([
  EditModule,
  FormatModule,
  FrozenColumnsModule,
  GroupRowsModule,
  InteractionModule,
  MoveColumnsModule,
  ResizeColumnsModule,
  SelectRowModule,
]);

const PAGE = 100;
/** Records one merge takes: the one that stays and fifty merged into it (duplicates.merge). */
const MERGE_MOST = 51;
/** How a column of these types lines up (the rest: left). */
const ALIGN = { number: "right", money: "right", checkbox: "center" };
const WIDTHS = {
  text: 200,
  long_text: 240,
  number: 110,
  money: 140,
  date: 130,
  datetime: 170,
  checkbox: 90,
  select: 140,
  user: 150,
  link: 180,
  file: 140,
  email: 200,
  phone: 160,
  url: 200,
  autonumber: 90,
};

function inputEditor(type) {
  return (cell, onRendered, success, cancel) => {
    const input = document.createElement(type === "textarea" ? "textarea" : "input");
    if (type !== "textarea") input.type = type;
    const value = cell.getValue();
    input.value = value == null ? "" : type === "datetime-local" ? toLocalInput(value) : String(value);
    input.className = "cell-editor";
    input.setAttribute("aria-label", cell.getColumn().getDefinition().title);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const next = input.value === "" ? null : type === "datetime-local" ? new Date(input.value).toISOString() : input.value;
      if ((next ?? "") === (value ?? "")) cancel();
      else success(next);
    };
    input.addEventListener("blur", finish);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !(type === "textarea" && e.shiftKey)) {
        e.preventDefault();
        finish();
      } else if (e.key === "Escape") {
        done = true;
        cancel();
      }
    });
    onRendered(() => {
      input.focus();
      if (input.select && type !== "date" && type !== "datetime-local") input.select();
    });
    return input;
  };
}

function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function selectEditor(field) {
  return (cell, onRendered, success, cancel) => {
    const select = document.createElement("select");
    select.className = "cell-editor";
    select.setAttribute("aria-label", field.name);
    const current = cell.getValue();
    select.add(new Option("—", ""));
    for (const c of field.choices || []) select.add(new Option(c.label, String(c.id), false, current && current.id === c.id));
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const choice = (field.choices || []).find((c) => String(c.id) === select.value) || null;
      if ((choice && choice.id) === (current && current.id)) cancel();
      else success(choice);
    };
    select.addEventListener("change", finish);
    select.addEventListener("blur", finish);
    select.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        done = true;
        cancel();
      }
    });
    onRendered(() => select.focus());
    return select;
  };
}

const EDITORS = {
  text: () => inputEditor("text"),
  email: () => inputEditor("email"),
  phone: () => inputEditor("tel"),
  url: () => inputEditor("url"),
  number: () => inputEditor("text"),
  money: () => inputEditor("text"),
  long_text: () => inputEditor("textarea"),
  date: () => inputEditor("date"),
  datetime: () => inputEditor("datetime-local"),
  select: (f) => (f.multiple ? null : selectEditor(f)),
  checkbox: () => "tickCross",
};

/** The value the API expects for what the editor produced. */
const AMOUNTS = new Set(["number", "money"]);

function wireValue(field, value) {
  if (field.type === "select") return value ? value.id : null;
  if (field.type === "checkbox") return Boolean(value);
  if (value === "") return null;
  // Typed the user's way ("1,234.56", "1 234,56"); the API reads plain numbers.
  if (AMOUNTS.has(field.type) && typeof value === "string") return plainAmount(value, document.documentElement.lang);
  return value;
}

class Grid {
  constructor(host, cfg) {
    this.cfg = cfg;
    this.host = host;
    this.fields = Object.fromEntries(cfg.fields.map((f) => [f.api_name, f]));
    this.filter = cfg.filter || null;
    this.sort = cfg.sort || "";
    this.search = "";
    this.cursor = null;
    this.done = false;
    this.loading = null;
    this.generation = 0;
    this.titleField = cfg.title_field;
    this.countEl = document.querySelector("[data-grid-count]");
    this.deleteButton = document.querySelector("[data-grid-delete]");
    this.bulkButton = document.querySelector("[data-grid-bulk]");
    this.mergeButton = document.querySelector("[data-grid-merge]");
    this.saveButton = document.querySelector("[data-grid-save-view]");
    this.grouping = new Grouping(this);
    host.replaceChildren();
    this.table = new Tabulator(host, {
      ...this.grouping.tableOptions(),
      index: "_id",
      height: "100%",
      layout: "fitDataStretch",
      columnDefaults: { headerSort: false, resizable: true },
      movableColumns: true,
      renderVerticalBuffer: 600,
      selectableRows: "highlight",
      editTriggerEvent: "dblclick",
      placeholder: () => this.placeholder(),
      rowFormatter: (row) => {
        const el = row.getElement();
        const box = el.querySelector(".select-col input");
        if (box) {
          box.setAttribute("aria-label", `${strings().select_row} ${row.getIndex()}`);
          box.tabIndex = -1;
        }
        // The grid is one Tab stop (gridnav.js moves inside it): editable cells and the
        // links in them would otherwise each be one, thousands in all.
        for (const cell of el.querySelectorAll(".tabulator-cell[tabindex]")) cell.tabIndex = -1;
      },
      columns: this.columns(),
    });
    this.table.on("tableBuilt", () => {
      this.built = true;
      host.querySelector(".tabulator-header .select-col input")?.setAttribute("aria-label", strings().select_all);
      // The grid itself takes the focus (keys reach Tabulator's key bindings from there):
      // a focusable scroll box inside role=grid is not a row, and screen readers stumble.
      host.querySelector(".tabulator-tableholder")?.removeAttribute("tabindex");
      host.setAttribute("tabindex", "0");
      host.setAttribute("aria-label", cfg.name);
      host.querySelector(".tabulator-header .select-col input")?.setAttribute("tabindex", "-1");
      this.decorateHeaders();
      this.keys = new GridKeys(this);
      this.columnMenu = new ColumnMenu(this);
      this.load(true);
    });
    this.table.on("scrollVertical", () => this.maybeMore());
    this.table.on("renderComplete", () => this.grouping.decorate());
    this.table.on("cellEdited", (cell) => this.save(cell));
    this.table.on("rowSelectionChanged", (rows) => this.selectionChanged(rows));
    this.table.on("columnMoved", () => this.markChanged());
    this.table.on("columnResized", () => this.markChanged());
    this.table.on("cellClick", (e, cell) => {
      const link = e.target.closest("a[data-open-record]");
      if (link) {
        e.preventDefault();
        this.open(link.href);
      }
    });
  }

  placeholder() {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = this.loading ? strings().loading : this.filter || this.search ? strings().no_match : strings().empty;
    if (!this.loading && !this.filter && !this.search && this.cfg.can_create) {
      const link = document.createElement("a");
      link.href = `${this.cfg.page}/new`;
      link.dataset.openPanel = "";
      link.textContent = ` + ${strings().new_record}`;
      p.appendChild(link);
    }
    return p;
  }

  /** Open a record's card in the side panel; closing it brings focus back to the grid. */
  open(url) {
    this.host.focus({ preventScroll: true });
    openPanel(url);
  }

  cardUrl(id) {
    return `${this.cfg.page}/r/${id}`;
  }

  columns() {
    const cols = [
      {
        formatter: "rowSelection",
        titleFormatter: "rowSelection",
        hozAlign: "center",
        headerHozAlign: "center",
        width: 44,
        frozen: true,
        resizable: false,
        headerSort: false,
        cssClass: "select-col",
      },
      {
        title: "#",
        field: "_id",
        width: 70,
        frozen: true,
        formatter: (cell) => `<a href="${this.cardUrl(cell.getValue())}" data-open-record tabindex="-1">${cell.getValue()}</a>`,
      },
    ];
    const shown = new Set(this.cfg.columns);
    // Widths the user dragged and saved with the view.
    const widths = (this.cfg.view && this.cfg.view.options && this.cfg.view.options.widths) || {};
    const order = [...this.cfg.columns, ...this.cfg.fields.map((f) => f.api_name).filter((n) => !shown.has(n))];
    for (const name of order) {
      const f = this.fields[name];
      if (!f) continue;
      const isTitle = name === this.titleField;
      const editor = f.inline ? (EDITORS[f.type] || (() => null))(f) : null;
      cols.push({
        title: f.name,
        field: name,
        // A set width spares Tabulator measuring every cell of every column first.
        width: Number.isFinite(widths[name]) ? widths[name] : WIDTHS[f.type] || 160,
        visible: shown.has(name),
        frozen: isTitle,
        editor: editor || undefined,
        editable: Boolean(editor),
        cssClass: `t-${f.type}${f.inline ? " editable" : ""}`,
        hozAlign: ALIGN[f.type] || "left",
        // Figures' headings stand over their figures.
        headerHozAlign: ALIGN[f.type] || "left",
        formatter: (cell) => {
          const html = valueHtml(f, cell.getValue());
          if (isTitle) return `<a href="${this.cardUrl(cell.getRow().getIndex())}" data-open-record tabindex="-1">${html || "—"}</a>`;
          return html;
        },
        headerClick: (e, column) => this.sortBy(f, e.shiftKey),
      });
    }
    return cols;
  }

  decorateHeaders() {
    const parts = (this.sort || "").split(",").filter(Boolean);
    for (const column of this.table.getColumns()) {
      const name = column.getField();
      const f = this.fields[name];
      const el = column.getElement();
      if (!f) continue;
      const hit = parts.find((p) => p.replace(/^-/, "") === name);
      el.dataset.sort = hit ? (hit.startsWith("-") ? "desc" : "asc") : "";
      el.setAttribute("aria-sort", hit ? (hit.startsWith("-") ? "descending" : "ascending") : "none");
      if (f.sortable) el.classList.add("sortable");
    }
  }

  sortBy(field, add) {
    if (!field.sortable) return;
    const parts = (this.sort || "").split(",").filter(Boolean);
    const at = parts.findIndex((p) => p.replace(/^-/, "") === field.api_name);
    let next;
    if (at >= 0) {
      const desc = parts[at].startsWith("-");
      next = desc ? null : `-${field.api_name}`;
      if (add) {
        if (next) parts[at] = next;
        else parts.splice(at, 1);
      } else {
        parts.splice(0, parts.length, ...(next ? [next] : []));
      }
    } else if (add) {
      parts.push(field.api_name);
    } else {
      parts.splice(0, parts.length, field.api_name);
    }
    this.sort = parts.join(",");
    this.decorateHeaders();
    this.reload();
  }

  effectiveFilter() {
    const parts = [];
    if (this.filter) parts.push(this.filter);
    if (!parts.length) return undefined;
    return parts.length === 1 ? parts[0] : { and: parts };
  }

  query(extra) {
    const body = { limit: PAGE, ...extra };
    const filter = this.effectiveFilter();
    if (filter) body.filter = filter;
    if (this.sort) body.sort = this.sort;
    if (this.cfg.view) body.view = this.cfg.view.id;
    if (this.search) body.search = this.search;
    return body;
  }

  row(record) {
    return { _id: record.id, _title: record.title, _version: record.version, ...record.values };
  }

  async load(reset) {
    if (reset) {
      this.generation += 1;
      this.cursor = null;
      this.done = false;
      this.loading = null;
    }
    if (this.loading || this.done) return this.loading;
    const generation = this.generation;
    const body = this.query(this.cursor ? { cursor: this.cursor } : {});
    this.loading = (async () => {
      try {
        const page = await api("POST", `${this.cfg.api}/records/query`, body);
        if (generation !== this.generation) return;
        const rows = page.items.map((r) => this.row(r));
        if (reset) await this.table.setData(rows);
        else await this.table.addData(rows);
        this.cursor = page.next_cursor;
        this.done = !page.next_cursor;
        if (reset) this.count();
      } catch (err) {
        if (generation === this.generation) toast(codeMessage(err), "error");
        this.done = true;
      } finally {
        if (generation === this.generation) this.loading = null;
      }
      if (generation === this.generation) this.maybeMore();
    })();
    return this.loading;
  }

  /** The next page when the user scrolled (or moved the active cell, `near`) close to the end. */
  maybeMore(near = false) {
    if (this.done || this.loading) return;
    const holder = this.host.querySelector(".tabulator-tableholder");
    if (!holder) return;
    if (near || holder.scrollHeight - holder.scrollTop - holder.clientHeight < 600) this.load(false);
  }

  async count() {
    if (!this.countEl) return;
    const generation = this.generation;
    this.countEl.textContent = "";
    try {
      const answer = await api("POST", `${this.cfg.api}/records/query`, this.query({ limit: 1, count: true }));
      if (generation === this.generation) this.countEl.textContent = countText(answer.count);
    } catch (_) {
      /* the count is a courtesy; the rows are what matter */
    }
  }

  reload() {
    this.table.deselectRow();
    this.syncUrl();
    this.markChanged();
    return this.load(true);
  }

  syncUrl() {
    const url = new URL(window.location.href);
    for (const key of ["filter", "sort", "cursor", "search"]) url.searchParams.delete(key);
    if (this.filter) url.searchParams.set("filter", JSON.stringify(this.filter));
    if (this.search) url.searchParams.set("search", this.search);
    const viewSort = this.cfg.view ? this.cfg.view.sort || "" : "";
    if (this.sort && this.sort !== viewSort) url.searchParams.set("sort", this.sort);
    history.replaceState(null, "", url);
  }

  markChanged() {
    if (!this.saveButton || !this.cfg.can_manage_views || !this.cfg.view) return;
    this.saveButton.hidden = false;
  }

  async saveView() {
    // Column order is the order of `fields`; widths and grouping go into the view's
    // options, next to whatever else the options hold.
    const { filter, sort, fields, options } = viewState(this);
    try {
      const view = await api("PATCH", `${this.cfg.api}/views/${this.cfg.view.id}`, { filter, sort, fields, options });
      this.cfg.view = view;
      this.saveButton.hidden = true;
      toast(strings().view_saved);
      this.syncUrl();
    } catch (err) {
      toast(codeMessage(err), "error");
    }
  }

  async save(cell) {
    const field = this.fields[cell.getField()];
    const row = cell.getRow();
    const id = row.getIndex();
    try {
      const body = { values: { [field.api_name]: wireValue(field, cell.getValue()) } };
      // The version the row was read at: a change made meanwhile by someone else is
      // refused (412) instead of silently overwritten.
      if (row.getData()._version != null) body.version = row.getData()._version;
      const record = await api("PATCH", `${this.cfg.api}/records/${id}`, body);
      row.update(this.row(record));
      cell.getElement().classList.remove("cell-error");
      toast(strings().saved);
    } catch (err) {
      cell.restoreOldValue();
      if (err instanceof ApiError && err.code === "PRECONDITION_FAILED" && err.body.current) {
        row.update(this.row(err.body.current));
        this.showCellError(cell, strings().changed_meanwhile);
        return;
      }
      this.showCellError(cell, err instanceof ApiError ? (err.code === "VALIDATION" ? err.explain(field.api_name) : codeMessage(err)) : String(err));
    }
  }

  showCellError(cell, message) {
    const el = cell.getElement();
    el.classList.add("cell-error");
    document.querySelectorAll(".cell-message").forEach((m) => m.remove());
    const note = document.createElement("div");
    note.className = "cell-message";
    note.setAttribute("role", "alert");
    note.textContent = message;
    const box = el.getBoundingClientRect();
    const hostBox = this.host.getBoundingClientRect();
    note.style.left = `${Math.max(0, box.left - hostBox.left)}px`;
    note.style.top = `${box.bottom - hostBox.top + 2}px`;
    this.host.appendChild(note);
    setTimeout(() => {
      note.remove();
      el.classList.remove("cell-error");
    }, 6000);
  }

  selectionChanged(rows) {
    if (this.bulkButton) {
      this.bulkButton.hidden = rows.length === 0;
      this.bulkButton.textContent = `${strings().edit_selected} (${rows.length})`;
    }
    if (this.mergeButton) {
      // Two records or more, as many as one merge takes: the merge form chooses the values.
      const ids = this.table.getSelectedData().map((r) => r._id);
      this.mergeButton.hidden = ids.length < 2 || ids.length > MERGE_MOST;
      this.mergeButton.textContent = `${strings().merge_selected} (${ids.length})`;
      this.mergeButton.href = `${this.cfg.page}/duplicates/merge?ids=${ids.join(",")}`;
    }
    if (!this.deleteButton) return;
    this.deleteButton.hidden = rows.length === 0;
    this.deleteButton.textContent = `${strings().delete_selected} (${rows.length})`;
  }

  /** Read the given records again (after a bulk change) and update their rows. */
  async refreshRows(ids) {
    for (let i = 0; i < ids.length; i += PAGE) {
      const part = ids.slice(i, i + PAGE);
      const page = await api("POST", `${this.cfg.api}/records/query`, { limit: part.length, filter: { id: { in: part } } });
      for (const record of page.items) this.rowOf(record.id)?.update(this.row(record));
    }
  }

  async deleteSelected() {
    const ids = this.table.getSelectedData().map((r) => r._id);
    if (!ids.length || !window.confirm(strings().confirm_delete)) return;
    try {
      for (let i = 0; i < ids.length; i += 1000) {
        await api("POST", `${this.cfg.api}/records/batch`, { delete: ids.slice(i, i + 1000) });
      }
      for (const id of ids) this.rowOf(id)?.delete();
      this.selectionChanged([]);
      toast(`${strings().deleted}: ${ids.length}`);
      this.count();
    } catch (err) {
      toast(codeMessage(err), "error");
    }
  }

  /** The row of a record when it is loaded (no console warning when it is not). */
  rowOf(id) {
    return this.table.getRows().find((r) => r.getIndex() === id) || null;
  }

  /** A change someone made elsewhere (the live feed): refresh, add or drop the row. */
  async onEvent(event) {
    const id = event.record_id;
    for (const gone of event.merged || []) this.rowOf(gone)?.delete(); // merged into `id`
    if (event.type === "record.deleted") {
      this.rowOf(id)?.delete();
      this.count();
      return;
    }
    const existing = this.rowOf(id);
    if (!existing && event.type !== "record.created") return;
    try {
      const page = await api("POST", `${this.cfg.api}/records/query`, this.query({ limit: 1, filter: { and: [this.effectiveFilter() || {}, { id: { eq: id } }].filter((f) => Object.keys(f).length) } }));
      const record = page.items[0];
      if (!record) {
        if (existing) existing.delete();
      } else if (existing) {
        existing.update(this.row(record));
        existing.getElement().classList.add("flash");
        setTimeout(() => existing.getElement().classList.remove("flash"), 1500);
      } else {
        await this.table.addRow(this.row(record), true);
      }
    } catch (_) {
      /* a row we cannot read any more simply stays as it was */
    }
  }
}

/** "Fields": tick the columns to show (saved into the view with "Save view"). */
function fieldsMenu(grid) {
  const button = document.querySelector("[data-grid-fields]");
  const panel = document.querySelector("[data-fields-panel]");
  if (!button || !panel) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
    if (panel.hidden) return;
    panel.replaceChildren();
    const list = document.createElement("div");
    list.className = "field-toggles";
    for (const column of grid.table.getColumns()) {
      const field = grid.fields[column.getField()];
      if (!field) continue;
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = column.isVisible();
      box.addEventListener("change", () => {
        if (box.checked) column.show();
        else column.hide();
        grid.markChanged();
      });
      label.append(box, ` ${field.name}`);
      list.appendChild(label);
    }
    panel.appendChild(list);
  });
}

function phone(cfg) {
  const filterButton = document.querySelector("[data-grid-filter]");
  const panel = document.querySelector("[data-filter-panel]");
  const go = (filter, search) => {
    const url = new URL(window.location.href);
    url.searchParams.delete("cursor");
    if (filter) url.searchParams.set("filter", JSON.stringify(filter));
    else url.searchParams.delete("filter");
    if (search) url.searchParams.set("search", search);
    else url.searchParams.delete("search");
    window.location.href = url.toString();
  };
  if (filterButton && panel) {
    const builder = new FilterBuilder(panel, cfg, (filter) => go(filter, ""));
    filterButton.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      filterButton.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) builder.render();
    });
  }
  document.querySelector("[data-grid-search]")?.addEventListener("change", (e) => go(cfg.filter, e.target.value.trim()));
}

function start() {
  const host = document.querySelector("[data-grid]");
  const block = document.getElementById("grid-config");
  if (!host || !block) return;
  const cfg = JSON.parse(block.textContent);
  if (window.matchMedia("(max-width: 640px)").matches) {
    // On a phone the server's list stays: rows are cards (see app.css), "load more" pages;
    // the filter and the search reload the page with them in the URL.
    phone(cfg);
    return;
  }
  const grid = new Grid(host, cfg);
  grid.search = cfg.search || "";
  window.kartotekaGrid = grid;
  const filterButton = document.querySelector("[data-grid-filter]");
  const panel = document.querySelector("[data-filter-panel]");
  if (filterButton && panel) {
    const builder = new FilterBuilder(panel, cfg, (filter) => {
      grid.filter = filter;
      filterButton.querySelector(".badge")?.remove();
      if (filter) filterButton.insertAdjacentHTML("beforeend", ` <span class="badge">${escapeHtml(builder.count())}</span>`);
      grid.reload();
    });
    filterButton.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      filterButton.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) builder.render();
    });
    Object.assign(grid, { filterBuilder: builder, filterPanel: panel, filterButton }); // colmenu.js
  }
  let timer = null;
  document.querySelector("[data-grid-search]")?.addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      grid.search = e.target.value.trim();
      grid.syncUrl();
      grid.load(true);
    }, 250);
  });
  fieldsMenu(grid);
  grid.deleteButton?.addEventListener("click", () => grid.deleteSelected());
  if (grid.bulkButton) new BulkEdit(grid, grid.bulkButton);
  grid.saveButton?.addEventListener("click", () => grid.saveView());
  groupMenu(grid);
  const saveAs = document.querySelector("[data-grid-save-as]");
  if (saveAs) new SaveAsView(grid, saveAs);
  follow(cfg.catalog, (event) => grid.onEvent(event));
  document.addEventListener("kartoteka:record-saved", (e) => grid.onEvent({ type: "record.updated", record_id: e.detail.id }));
  document.addEventListener("kartoteka:record-created", (e) => grid.onEvent({ type: "record.created", record_id: e.detail.id }));
}

start();
