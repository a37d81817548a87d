// "Edit selected": set one field to one value for every selected row, in one batch
// request — all or nothing. A refusal names the record and the reason and says that
// nothing was changed; a row someone changed meanwhile (its version moved) refuses the
// whole batch and shows their values, so nobody's change is overwritten unseen.
import { plainAmount } from "./amounts.js";
import { api, ApiError } from "./api.js";
import { codeMessage, escapeHtml, strings, toast } from "./ui.js";

const BATCH_LIMIT = 1000; // the batch API's limit: more cannot be one transaction

function fill(text, params) {
  return text.replace(/%\((\w+)\)s/g, (_, key) => String(params[key] ?? ""));
}

/** The value control for a field type, and how to read the API value back from it. */
function valueControl(field) {
  const t = field.type;
  let el;
  if (t === "select") {
    el = document.createElement("select");
    el.multiple = Boolean(field.multiple);
    if (!field.multiple) el.add(new Option("—", ""));
    for (const c of field.choices || []) el.add(new Option(c.label, String(c.id)));
    const read = () => {
      const ids = [...el.selectedOptions].map((o) => Number(o.value)).filter((v) => v);
      return field.multiple ? ids : ids[0] ?? null;
    };
    return { el, read };
  }
  if (t === "checkbox") {
    el = document.createElement("select");
    el.add(new Option(strings().yes, "1"));
    el.add(new Option(strings().no, ""));
    return { el, read: () => el.value === "1" };
  }
  el = document.createElement(t === "long_text" ? "textarea" : "input");
  if (t !== "long_text") {
    el.type = { date: "date", datetime: "datetime-local", email: "email", phone: "tel", url: "url" }[t] || "text";
  }
  const read = () => {
    const v = el.value.trim() === "" ? null : el.value;
    if (v && t === "datetime") return new Date(v).toISOString();
    // Typed the user's way ("1 234,56"); the API reads plain numbers.
    if (v && (t === "number" || t === "money")) return plainAmount(v, document.documentElement.lang);
    return v;
  };
  return { el, read };
}

export class BulkEdit {
  constructor(grid, button) {
    this.grid = grid;
    this.button = button;
    button.addEventListener("click", () => this.open());
  }

  fields() {
    return this.grid.cfg.fields.filter((f) => f.editable);
  }

  open() {
    const rows = this.grid.table.getSelectedData();
    if (!rows.length) return;
    const s = strings();
    if (rows.length > BATCH_LIMIT) {
      toast(fill(s.bulk_too_many, { n: BATCH_LIMIT.toLocaleString(document.documentElement.lang) }), "error");
      return;
    }
    const dialog = document.createElement("dialog");
    dialog.className = "nested bulk-edit";
    dialog.setAttribute("aria-labelledby", "bulk-title");
    dialog.innerHTML = `
      <form method="dialog" class="stack">
        <h2 id="bulk-title">${escapeHtml(fill(s.bulk_title, { n: rows.length }))}</h2>
        <label class="field"><span>${escapeHtml(s.bulk_field)}</span><select name="field" data-bulk-field></select></label>
        <div class="field"><label for="bulk-value">${escapeHtml(s.bulk_value)}</label><div data-bulk-slot></div>
          <p class="hint muted small">${escapeHtml(s.bulk_hint)}</p></div>
        <p class="alert error" role="alert" data-bulk-error hidden></p>
        <div class="actions">
          <button type="submit" class="button primary" data-bulk-apply>${escapeHtml(s.apply)}</button>
          <button type="button" class="button" data-bulk-cancel>${escapeHtml(s.cancel)}</button>
        </div>
      </form>`;
    const select = dialog.querySelector("[data-bulk-field]");
    for (const f of this.fields()) select.add(new Option(f.name, f.api_name));
    const slot = dialog.querySelector("[data-bulk-slot]");
    let control = null;
    const pick = () => {
      const field = this.grid.fields[select.value];
      control = valueControl(field);
      control.el.id = "bulk-value";
      control.el.name = "value";
      slot.replaceChildren(control.el);
    };
    select.addEventListener("change", pick);
    pick();
    dialog.querySelector("[data-bulk-cancel]").addEventListener("click", () => dialog.close());
    dialog.querySelector("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const apply = dialog.querySelector("[data-bulk-apply]");
      apply.disabled = true;
      const ok = await this.apply(rows, this.grid.fields[select.value], control.read(), dialog.querySelector("[data-bulk-error]"));
      apply.disabled = false;
      if (ok) dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      this.button.focus();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    select.focus();
  }

  /** One batch for all rows; true when it was applied. */
  async apply(selected, field, value, errorEl) {
    const s = strings();
    // The versions the rows show now: the live feed may have refreshed them meanwhile.
    const rows = selected.map((r) => this.grid.rowOf(r._id)?.getData() || r);
    const items = rows.map((r) => {
      const item = { id: r._id, values: { [field.api_name]: value } };
      if (r._version != null) item.version = r._version;
      return item;
    });
    try {
      await api("POST", `${this.grid.cfg.api}/records/batch`, { update: items });
    } catch (err) {
      errorEl.hidden = false;
      errorEl.textContent = this.explain(err, rows, field);
      if (err instanceof ApiError && err.code === "PRECONDITION_FAILED" && err.body.current) {
        this.grid.rowOf(err.body.current.id)?.update(this.grid.row(err.body.current));
      }
      return false;
    }
    await this.grid.refreshRows(rows.map((r) => r._id));
    toast(fill(s.bulk_done, { n: rows.length }));
    return true;
  }

  explain(err, rows, field) {
    const s = strings();
    if (!(err instanceof ApiError)) return `${String(err.message || err)} ${s.bulk_nothing}`;
    const index = err.body.index;
    const id = Number.isInteger(index) && rows[index] ? rows[index]._id : null;
    if (err.code === "PRECONDITION_FAILED") return fill(s.bulk_stale, { id: id ?? "?" });
    const reason = err.code === "VALIDATION" ? err.explain(field.api_name) : codeMessage(err);
    const text = id != null ? fill(s.bulk_failed, { id, field: field.name, reason }) : reason;
    return `${text} ${s.bulk_nothing}`;
  }
}
