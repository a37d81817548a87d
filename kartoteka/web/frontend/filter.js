// The filter builder: conditions "field · operator · value", ANDed, offering for each
// field exactly the operators the API supports for its type. Date fields take relative
// values (today, -7d, +1w). Where the filter runs a full-text search (record lists and
// saved views: `cfg.full_text`), text-like fields offer "has the words" and "Any text
// field" searches the whole record (`{"search": "…"}`). The result is the API's filter JSON.
import { api } from "./api.js";
import { escapeHtml, strings } from "./ui.js";

const DATE_TYPES = new Set(["date", "datetime", "created_at", "updated_at"]);
const ORDER = ["eq", "ne", "icontains", "istartswith", "iendswith", "ieq", "search", "contains", "startswith", "lt", "lte", "gt", "gte", "between", "in", "nin", "empty"];

let usersPromise = null;
function users() {
  if (!usersPromise) usersPromise = api("GET", "users").then((r) => r.items).catch(() => []);
  return usersPromise;
}

/** Simple conditions of a filter (an AND of field conditions); null when it is more.
 *  With `anyOf`, an OR of simple conditions is read too (rights rules offer "any"). */
export function conditionsOf(filter, anyOf = false) {
  if (!filter) return [];
  const parts = filter.and ? filter.and : anyOf && filter.or ? filter.or : [filter];
  const out = [];
  for (const part of parts) {
    if (!part || typeof part !== "object" || part.or || part.not || part.and) return null;
    for (const [field, test] of Object.entries(part)) {
      if (test && typeof test === "object" && !Array.isArray(test)) {
        for (const [op, value] of Object.entries(test)) out.push({ field, op, value });
      } else {
        out.push({ field, op: "eq", value: test });
      }
    }
  }
  return out;
}

export class FilterBuilder {
  constructor(host, cfg, onApply) {
    this.host = host;
    this.cfg = cfg;
    this.onApply = onApply;
    this.fields = [...cfg.fields.filter((f) => f.filterable), ...(cfg.hops || [])];
    this.fullText = Boolean(cfg.full_text);
    // The whole record's search, unless a field took the key "search" (made before the
    // name was reserved), which keeps it.
    this.wholeRecord = this.fullText && !this.fields.some((f) => f.api_name === "search");
    if (this.wholeRecord) {
      this.fields.push({ api_name: "search", name: strings().any_text || "Any text field", type: "search", operators: [], searchable: true, whole: true });
    }
    this.byName = Object.fromEntries(this.fields.map((f) => [f.api_name, f]));
    // Rights rules: "match any" besides "match all", and `$user.<key>` values.
    this.anyOf = Boolean(cfg.anyOf);
    this.userValues = cfg.userValues || [];
    this.mode = this.anyOf && cfg.filter && cfg.filter.or ? "or" : "and";
    this.rows = (conditionsOf(cfg.filter, this.anyOf) || []).map((r) => (r.field === "search" && this.wholeRecord ? { ...r, op: "search" } : r));
    this.raw = conditionsOf(cfg.filter, this.anyOf) === null ? cfg.filter : null;
  }

  count() {
    return String(this.rows.length || (this.raw ? 1 : 0));
  }

  operators(field) {
    if (field.whole) return ["search"];
    const search = this.fullText && field.searchable;
    return ORDER.filter((op) => field.operators.includes(op) || (op === "search" && search));
  }

  render() {
    const s = strings();
    this.host.replaceChildren();
    // Inside another form (a rights rule) the builder is a group, not a nested <form>
    // (invalid HTML: the browser drops the inner one); "apply" then is a plain button.
    const nested = Boolean(this.host.closest("form"));
    const form = document.createElement(nested ? "div" : "form");
    form.className = "filter-form";
    if (nested) form.setAttribute("role", "group");
    form.setAttribute("aria-label", s.filter);
    if (this.raw) {
      const note = document.createElement("p");
      note.className = "muted small";
      note.textContent = JSON.stringify(this.raw);
      form.appendChild(note);
    }
    if (this.anyOf) {
      const mode = document.createElement("select");
      mode.name = "mode";
      mode.setAttribute("aria-label", s.match_mode || "Match");
      mode.add(new Option(s.match_all || "all conditions", "and", false, this.mode === "and"));
      mode.add(new Option(s.match_any || "any condition", "or", false, this.mode === "or"));
      mode.addEventListener("change", () => {
        this.mode = mode.value;
      });
      form.appendChild(mode);
    }
    const list = document.createElement("div");
    list.className = "conditions";
    this.rows.forEach((row, i) => list.appendChild(this.conditionRow(row, i)));
    form.appendChild(list);
    const actions = document.createElement("div");
    actions.className = "actions";
    actions.innerHTML = `<button type="button" class="button" data-add>+ ${escapeHtml(s.add_condition)}</button>
      <div class="spacer"></div>
      <button type="button" class="button" data-clear>${escapeHtml(s.clear)}</button>
      <button type="${nested ? "button" : "submit"}" class="button primary" data-apply>${escapeHtml(s.apply)}</button>`;
    form.appendChild(actions);
    actions.querySelector("[data-add]").addEventListener("click", () => {
      this.collect(form);
      const first = this.fields[0];
      if (!first) return;
      this.rows.push({ field: first.api_name, op: this.operators(first)[0], value: null });
      this.render();
      this.host.querySelector(".condition:last-child select")?.focus();
    });
    actions.querySelector("[data-clear]").addEventListener("click", () => {
      this.rows = [];
      this.raw = null;
      this.render();
      this.onApply(null);
    });
    const apply = () => {
      this.collect(form);
      this.onApply(this.toFilter());
    };
    if (nested) actions.querySelector("[data-apply]").addEventListener("click", apply);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      apply();
    });
    this.host.appendChild(form);
  }

  conditionRow(row, i) {
    const s = strings();
    const el = document.createElement("div");
    el.className = "condition";
    el.dataset.index = String(i);
    const fieldSelect = document.createElement("select");
    fieldSelect.name = "field";
    fieldSelect.setAttribute("aria-label", s.filter);
    for (const f of this.fields) fieldSelect.add(new Option(f.name, f.api_name, false, f.api_name === row.field));
    const field = this.byName[row.field] || this.fields[0];
    const opSelect = document.createElement("select");
    opSelect.name = "op";
    opSelect.setAttribute("aria-label", field.name);
    for (const op of this.operators(field)) opSelect.add(new Option(this.cfg.operators[op] || op, op, false, op === row.op));
    fieldSelect.addEventListener("change", () => {
      const next = this.byName[fieldSelect.value];
      this.rows[i] = { field: next.api_name, op: this.operators(next)[0], value: null };
      this.collectOthers(i);
      this.render();
    });
    opSelect.addEventListener("change", () => {
      this.rows[i] = { field: row.field, op: opSelect.value, value: null };
      this.render();
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "icon";
    remove.innerHTML = `<span aria-hidden="true">✕</span><span class="sr-only">${escapeHtml(s.remove)}</span>`;
    remove.addEventListener("click", () => {
      this.rows.splice(i, 1);
      this.render();
    });
    el.append(fieldSelect, opSelect, this.valueInput(field, row), remove);
    return el;
  }

  valueInput(field, row) {
    const s = strings();
    const wrap = document.createElement("span");
    wrap.className = "value";
    const label = `${field.name}: ${this.cfg.operators[row.op] || row.op}`;
    const text = (value, name = "value") => {
      const input = document.createElement("input");
      input.name = name;
      input.value = value == null ? "" : String(value);
      input.setAttribute("aria-label", label);
      if (DATE_TYPES.has(field.type)) {
        input.placeholder = s.relative_hint;
        input.title = s.relative_hint;
      }
      return input;
    };
    const choose = (options, value, multiple) => {
      const select = document.createElement("select");
      select.name = "value";
      select.multiple = multiple;
      select.setAttribute("aria-label", label);
      const chosen = new Set((Array.isArray(value) ? value : [value]).map(String));
      for (const [v, t] of options) select.add(new Option(t, v, false, chosen.has(String(v))));
      return select;
    };
    if (row.op === "empty") {
      wrap.appendChild(choose([["true", s.yes], ["false", s.no]], row.value === false ? "false" : "true", false));
    } else if (row.op === "between") {
      const [a, b] = Array.isArray(row.value) ? row.value : [null, null];
      wrap.append(text(a, "from"), document.createTextNode(" – "), text(b, "to"));
      wrap.children[0].setAttribute("aria-label", `${label} ${s.from}`);
      wrap.children[1].setAttribute("aria-label", `${label} ${s.to}`);
    } else if (row.op === "search") {
      wrap.appendChild(text(row.value));
    } else if (field.type === "select") {
      // A stored filter may name choices by label ({"stage": {"eq": "Won"}}): show that
      // choice, and keep a value that names none, so saving never changes the filter.
      const choices = field.choices || [];
      const asId = (v) => {
        const c = choices.find((ch) => String(ch.id) === String(v) || String(ch.label).toLowerCase() === String(v).toLowerCase());
        return c ? c.id : v;
      };
      const value = Array.isArray(row.value) ? row.value.map(asId) : row.value == null ? row.value : asId(row.value);
      const userOptions = this.userValues.map((u) => [u.value, u.label]);
      const known = new Set([...choices.map((c) => String(c.id)), ...userOptions.map(([v]) => String(v))]);
      const unknown = (Array.isArray(value) ? value : [value]).filter((v) => v != null && v !== "" && !known.has(String(v)));
      const options = [...choices.map((c) => [c.id, c.label]), ...userOptions, ...unknown.map((v) => [v, String(v)])];
      wrap.appendChild(choose(options, value, row.op === "in" || row.op === "nin"));
    } else if (field.type === "checkbox") {
      wrap.appendChild(choose([["true", s.yes], ["false", s.no]], row.value === false ? "false" : "true", false));
    } else if (field.type === "user" || field.type === "created_by" || field.type === "updated_by") {
      const select = choose([["me", "me"]], row.value, row.op === "in" || row.op === "nin");
      select.options[0].textContent = s.me || "me";
      users().then((items) => {
        const chosen = new Set((Array.isArray(row.value) ? row.value : [row.value]).map(String));
        for (const u of items) select.add(new Option(u.name || u.email, String(u.id), false, chosen.has(String(u.id))));
      });
      wrap.appendChild(select);
    } else {
      const input = text(Array.isArray(row.value) ? row.value.join(", ") : row.value);
      if (this.userValues.length) {
        // Offer `$user.<key>` while leaving any other value typeable.
        const list = document.createElement("datalist");
        list.id = `uv-${Math.random().toString(36).slice(2)}`;
        for (const u of this.userValues) list.appendChild(new Option(u.label, u.value));
        input.setAttribute("list", list.id);
        wrap.appendChild(list);
      }
      wrap.appendChild(input);
    }
    return wrap;
  }

  collectOthers(skip) {
    const form = this.host.querySelector(".filter-form");
    if (form) this.collect(form, skip);
  }

  collect(form, skip = -1) {
    form.querySelectorAll(".condition").forEach((el) => {
      const i = Number(el.dataset.index);
      if (i === skip) return;
      const field = this.byName[el.querySelector("[name=field]").value];
      const op = el.querySelector("[name=op]").value;
      this.rows[i] = { field: field.api_name, op, value: this.readValue(field, op, el) };
    });
  }

  readValue(field, op, el) {
    const value = el.querySelector("[name=value]");
    if (op === "empty") return value.value === "true";
    if (op === "between") {
      const a = el.querySelector("[name=from]").value.trim();
      const b = el.querySelector("[name=to]").value.trim();
      return [a || null, b || null];
    }
    if (value.multiple) {
      return [...value.selectedOptions].map((o) => this.typed(field, o.value));
    }
    if (op === "search") return value.value.trim(); // words, never a typed value
    if (field.type === "checkbox") return value.value === "true";
    if ((op === "in" || op === "nin") && value.tagName === "INPUT") {
      return value.value.split(",").map((v) => this.typed(field, v.trim())).filter((v) => v !== "");
    }
    return this.typed(field, value.value.trim());
  }

  typed(field, raw) {
    if (raw === "me" || raw.startsWith("$user.")) return raw;
    if (["select", "user", "link", "created_by", "updated_by"].includes(field.type) && /^\d+$/.test(raw)) return Number(raw);
    return raw;
  }

  toFilter() {
    const parts = this.rows
      .filter((r) => r.op === "empty" || (r.value !== "" && r.value !== null && !(Array.isArray(r.value) && r.value.every((v) => v === null || v === ""))))
      .map((r) => (this.byName[r.field]?.whole ? { search: r.value } : { [r.field]: { [r.op]: r.value } }));
    if (this.raw) parts.unshift(this.raw);
    if (!parts.length) return null;
    return parts.length === 1 ? parts[0] : { [this.mode === "or" ? "or" : "and"]: parts };
  }
}
