// Views in the table: rows grouped by a field (collapsible groups with their counts) and
// "Save as view…" (the grid's filter, sort, columns, widths and grouping as a new view or
// over the current one, personal or shared). Grid code calls in here; nothing in here
// reaches into Tabulator's header (grid.js and the column menu own that).
import { api } from "./api.js";
import { codeMessage, escapeHtml, strings, toast } from "./ui.js";

function fill(text, params) {
  return text.replace(/%\((\w+)\)s/g, (_, key) => String(params[key] ?? ""));
}

const pad = (n) => String(n).padStart(2, "0");
const localDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The group a value falls in: `{key, label, color}` (a record with several values is
 * under its first, as on a kanban; no value is the key ""). */
export function groupOf(field, value) {
  let v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null || v === "") return { key: "", label: strings().group_empty };
  if (field.type === "checkbox") return v ? { key: "true", label: strings().yes } : { key: "", label: strings().group_empty };
  if (typeof v === "object") return { key: String(v.id), label: v.label || v.name || v.title || `#${v.id}`, color: v.color };
  if (field.type === "datetime" || field.type === "created_at" || field.type === "updated_at") v = localDay(new Date(v));
  const day = String(v).slice(0, 10);
  const [y, m, d] = day.split("-").map(Number);
  const label = y ? new Date(y, m - 1, d).toLocaleDateString(document.documentElement.lang, { weekday: "short", year: "numeric", month: "long", day: "numeric" }) : day;
  return { key: day, label };
}

/** The filter that picks one group's records, for its count (null: not countable exactly). */
function groupFilter(field, key) {
  const name = field.api_name;
  if (field.multiple && field.type !== "link") return null;
  if (field.type === "link" && field.multiple) return null;
  if (key === "") return field.type === "checkbox" ? { [name]: { ne: true } } : { [name]: { empty: true } };
  if (field.type === "checkbox") return { [name]: { eq: true } };
  if (field.type === "select" || field.type === "user" || field.type === "link") return { [name]: { eq: Number(key) } };
  if (field.type === "date") return { [name]: { eq: key } };
  const [y, m, d] = key.split("-").map(Number);
  const start = new Date(y, m - 1, d);
  const end = new Date(y, m - 1, d + 1);
  return { [name]: { gte: start.toISOString(), lt: end.toISOString() } };
}

/** Grouping of a grid's rows by one field, with each group's count from the server. */
export class Grouping {
  constructor(grid) {
    this.grid = grid;
    const options = (grid.cfg.view && grid.cfg.view.options) || {};
    this.field = grid.fields[options.group_by] || null;
    this.counts = new Map();
  }

  /** Tabulator options for the table being built. */
  tableOptions() {
    return {
      groupBy: this.field ? (data) => this.keyOf(data) : false,
      groupHeader: (key, count, data, group) => this.header(key, count, data, group),
      groupToggleElement: "header",
      groupStartOpen: true,
    };
  }

  keyOf(data) {
    return groupOf(this.field, data[this.field.api_name]).key;
  }

  header(key, loaded, data) {
    const g = groupOf(this.field, data.length ? data[0][this.field.api_name] : null);
    const total = this.count(key);
    const more = total == null && !this.grid.done ? "+" : "";
    const n = total ?? loaded;
    const chip = g.color ? `<span class="chip c-${escapeHtml(g.color)}">${escapeHtml(g.label)}</span>` : `<span class="group-label">${escapeHtml(g.label)}</span>`;
    const text = fill(strings().group_count, { n: `${n.toLocaleString(document.documentElement.lang)}${more}` });
    // One cell in a row: the grid's rows sit beside the header, not inside it.
    return `<span role="gridcell">${chip} <span class="group-count muted small" data-group-count="${escapeHtml(key)}">${escapeHtml(text)}</span></span>`;
  }

  /** The group's record count, asked once per reload; null until it is known. */
  count(key) {
    const memo = `${this.grid.generation}:${key}`;
    if (this.counts.has(memo)) return this.counts.get(memo);
    this.counts.set(memo, null);
    const only = groupFilter(this.field, key);
    if (!only) return null;
    const body = this.grid.query({ limit: 1, count: true });
    body.filter = body.filter ? { and: [body.filter, only] } : only;
    const generation = this.grid.generation;
    api("POST", `${this.grid.cfg.api}/records/query`, body)
      .then((answer) => {
        if (generation !== this.grid.generation) return;
        this.counts.set(memo, answer.count);
        for (const el of this.grid.host.querySelectorAll(`[data-group-count="${CSS.escape(key)}"]`)) {
          el.textContent = fill(strings().group_count, { n: answer.count.toLocaleString(document.documentElement.lang) });
        }
      })
      .catch(() => {
        /* the count is a courtesy: the header keeps the rows it holds */
      });
    return null;
  }

  /** Group by another field (null: no grouping). */
  set(name) {
    this.field = this.grid.fields[name] || null;
    this.counts.clear();
    this.grid.table.setGroupBy(this.field ? (data) => this.keyOf(data) : false);
    this.decorate();
  }

  /** Group headers are keyboard-usable: Tab reaches each header's cell, Enter or Space
   * folds the group (aria-expanded says which way; a plain grid allows it on the cell). */
  decorate() {
    for (const group of this.grid.table.getGroups ? this.grid.table.getGroups() : []) {
      const el = group.getElement();
      el.setAttribute("role", "row");
      const cell = el.querySelector("[role=gridcell]");
      if (cell) {
        cell.tabIndex = 0;
        cell.setAttribute("aria-expanded", String(group.isVisible()));
      }
      if (el.dataset.decorated) continue;
      el.dataset.decorated = "1";
      const mark = () => el.querySelector("[role=gridcell]")?.setAttribute("aria-expanded", String(group.isVisible()));
      el.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" && e.key !== " ") return;
        e.preventDefault();
        e.stopPropagation();
        group.toggle();
        mark();
        // Folding draws the rows (and this header) anew: the focus comes back to it.
        const key = group.getKey();
        requestAnimationFrame(() => this.refocus(key));
      });
      el.addEventListener("click", () => setTimeout(mark));
    }
  }

  refocus(key) {
    const group = this.grid.table.getGroups().find((g) => g.getKey() === key);
    const cell = group && group.getElement().querySelector("[role=gridcell]");
    if (!cell) return;
    this.decorate();
    cell.focus();
  }

  /** The fields rows may be grouped by (as the server allows: `groupable`). */
  choices() {
    return this.grid.cfg.fields.filter((f) => f.groupable);
  }
}

/** The toolbar's "Group by" select. */
export function groupMenu(grid) {
  const select = document.querySelector("[data-grid-group]");
  if (!select) return;
  const choices = grid.grouping.choices();
  if (!choices.length) return;
  select.add(new Option(strings().group_none, ""));
  for (const f of choices) select.add(new Option(f.name, f.api_name));
  select.value = grid.grouping.field ? grid.grouping.field.api_name : "";
  select.closest("[data-grid-group-box]").hidden = false;
  select.addEventListener("change", () => {
    grid.grouping.set(select.value);
    grid.markChanged();
    grid.reload();
  });
}

/** The grid's state as a view's parts (what "Save view" writes); `keep` carries the
 * current view's other options along (when the view is overwritten). */
export function viewState(grid, keep = true) {
  const columns = grid.table.getColumns().filter((c) => c.isVisible() && grid.fields[c.getField()]);
  const widths = Object.fromEntries(columns.map((c) => [c.getField(), Math.round(c.getWidth())]));
  const current = keep && grid.cfg.view ? grid.cfg.view.options || {} : {};
  const options = { ...current, widths };
  if (grid.grouping.field) options.group_by = grid.grouping.field.api_name;
  else delete options.group_by;
  return { filter: grid.filter, sort: grid.sort || null, fields: columns.map((c) => c.getField()), options };
}

/** "Save as view…": a dialog for the name, new or over the current view, personal or shared. */
export class SaveAsView {
  constructor(grid, button) {
    this.grid = grid;
    this.button = button;
    button.hidden = false;
    button.addEventListener("click", () => this.open());
  }

  /** The current view may be overwritten by managers, and a personal one by its author
   * (a personal view is listed only for its author). */
  mayOverwrite() {
    const view = this.grid.cfg.view;
    return Boolean(view && view.type === "table" && (this.grid.cfg.can_manage_views || (view.options || {}).personal));
  }

  open() {
    const s = strings();
    const cfg = this.grid.cfg;
    const view = cfg.view;
    const shared = cfg.can_manage_views;
    const dialog = document.createElement("dialog");
    dialog.className = "nested save-view";
    dialog.setAttribute("aria-labelledby", "save-view-title");
    const over = this.mayOverwrite()
      ? `<fieldset class="flags"><legend>${escapeHtml(s.save_view_where)}</legend>
          <label class="check"><input type="radio" name="target" value="new" checked data-target> ${escapeHtml(s.save_view_new)}</label>
          <label class="check"><input type="radio" name="target" value="current" data-target> ${escapeHtml(fill(s.save_view_over, { name: view.name }))}</label>
        </fieldset>`
      : "";
    dialog.innerHTML = `
      <form method="dialog" class="stack" novalidate>
        <h2 id="save-view-title">${escapeHtml(s.save_view_title)}</h2>
        <p class="muted small">${escapeHtml(s.save_view_hint)}</p>
        ${over}
        <div class="field"><label for="save-view-name">${escapeHtml(s.save_view_name)}</label>
          <input id="save-view-name" name="name" maxlength="200" autocomplete="off" required aria-describedby="save-view-error" data-view-name></div>
        <fieldset class="flags"><legend>${escapeHtml(s.save_view_who)}</legend>
          <label class="check"><input type="checkbox" name="personal" value="1" data-personal${shared ? "" : " checked disabled"} aria-describedby="save-view-personal-hint"> ${escapeHtml(s.save_view_personal)}</label>
          <p class="muted small" id="save-view-personal-hint">${escapeHtml(shared ? s.save_view_shared_hint : s.save_view_personal_only)}</p>
          ${shared ? `<label class="check"><input type="checkbox" name="default" value="1" data-default> ${escapeHtml(s.save_view_default)}</label>` : ""}
        </fieldset>
        <p class="alert error" role="alert" id="save-view-error" data-save-view-error hidden></p>
        <div class="actions">
          <button type="submit" class="button primary" data-save-view-apply>${escapeHtml(s.save)}</button>
          <button type="button" class="button" data-save-view-cancel>${escapeHtml(s.cancel)}</button>
        </div>
      </form>`;
    const name = dialog.querySelector("[data-view-name]");
    const personal = dialog.querySelector("[data-personal]");
    const isDefault = dialog.querySelector("[data-default]");
    for (const radio of dialog.querySelectorAll("[data-target]")) {
      radio.addEventListener("change", () => {
        const current = radio.value === "current" && radio.checked;
        if (current) {
          name.value = view.name;
          if (shared) personal.checked = Boolean((view.options || {}).personal);
          if (isDefault) isDefault.checked = cfg.default_view === view.id;
        } else if (radio.checked) {
          name.value = "";
          if (isDefault) isDefault.checked = false;
        }
      });
    }
    dialog.querySelector("[data-save-view-cancel]").addEventListener("click", () => dialog.close());
    dialog.querySelector("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const target = dialog.querySelector("[data-target]:checked");
      const apply = dialog.querySelector("[data-save-view-apply]");
      apply.disabled = true;
      await this.save(dialog, {
        current: Boolean(target && target.value === "current"),
        name: name.value.trim(),
        personal: personal.checked,
        isDefault: isDefault ? isDefault.checked : null,
      });
      apply.disabled = false;
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      this.button.focus();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    name.focus();
  }

  async save(dialog, choice) {
    const s = strings();
    const cfg = this.grid.cfg;
    const errorEl = dialog.querySelector("[data-save-view-error]");
    const name = dialog.querySelector("[data-view-name]");
    if (!choice.name) {
      errorEl.textContent = s.save_view_name_needed;
      errorEl.hidden = false;
      name.setAttribute("aria-invalid", "true");
      name.focus();
      return;
    }
    const state = viewState(this.grid, choice.current);
    const options = { ...state.options };
    if (choice.personal) options.personal = true;
    else delete options.personal;
    const body = { ...state, name: choice.name, options };
    let saved;
    try {
      if (choice.current) saved = await api("PATCH", `${cfg.api}/views/${cfg.view.id}`, body);
      else saved = await api("POST", `${cfg.api}/views`, { ...body, type: "table" });
      if (choice.isDefault !== null && choice.isDefault !== (cfg.default_view === saved.id)) {
        await api("PATCH", cfg.api, { options: { default_view: choice.isDefault ? saved.id : null } });
      }
    } catch (err) {
      errorEl.textContent = codeMessage(err);
      errorEl.hidden = false;
      return;
    }
    toast(s.view_saved);
    const url = new URL(window.location.href);
    for (const key of ["filter", "sort", "cursor"]) url.searchParams.delete(key);
    url.searchParams.set("view", String(saved.id));
    window.location.href = url.toString();
  }
}
