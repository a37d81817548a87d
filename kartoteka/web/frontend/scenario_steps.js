// The scenario editor's step tree: one card per step with the form of its kind (from the
// page's config, labels translated by the server), its retries, its branches (then/else,
// the loop's steps, a wait's timeout, the error branch) as nested lists, and buttons to
// add, move and delete steps. Every input writes straight into the step object; changes
// of the tree's shape call `onShape` so the owner redraws and keeps the JSON in step.
import { conditionsOf, FilterBuilder } from "./filter.js";
import { at, destinations, keyMove, movesOf, moveTo } from "./scenario_moves.js";

/** A DOM element: h("div", {class: "x", onclick: f}, child, "text"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key in el && key !== "list" && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let serial = 0;
const uid = (prefix) => `${prefix}-${++serial}`;

/** Put `value` under `key`, or remove the key when the value is empty. */
export function assign(target, key, value) {
  if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) delete target[key];
  else target[key] = value;
}

const DEFAULTS = {
  condition: () => ({ filter: {}, then: [], else: [] }),
  for_each: () => ({ as: "item", steps: [] }),
  wait: () => ({ duration: "PT1H" }),
  http: () => ({ method: "POST", url: "" }),
  stop: () => ({ status: "success" }),
  set: () => ({ vars: {} }),
};

export function newStep(kind) {
  return { type: kind, ...(DEFAULTS[kind] ? DEFAULTS[kind]() : {}) };
}

export class StepTree {
  constructor(cfg, onShape, onChange) {
    this.cfg = cfg;
    this.s = cfg.strings;
    this.onShape = onShape;
    this.onChange = onChange;
    // Steps shown folded (their heading only); the ones on the page when it opens are,
    // so a long scenario reads as a list; a new step opens.
    this.collapsed = new WeakSet();
    this.opened = new WeakSet();
    this.invalid = new Set();
    this.triggerCatalog = () => null;
    // The definition whose `steps` the tree shows (set by the owner): moves between
    // branches find their lists in it.
    this.root = () => ({ steps: [] });
    this.builders = [];
  }

  /** Conditions typed in a step's builder but not applied still count on saving. */
  collectBuilders() {
    this.builders = this.builders.filter((b) => b.host.isConnected);
    for (const b of this.builders) {
      const form = b.host.querySelector(".filter-form");
      if (!b.touched || !form) continue;
      b.builder.collect(form);
      assign(b.step, b.key, emptyFilter(b.step, b.builder.toFilter()));
    }
  }

  /** A step's filter: the views' builder over the catalog it reads, or JSON for what the
   *  builder cannot show ($ keys, or/not); a switch between the two. */
  filter(step, spec, path, fields) {
    const { key, label, hint } = spec;
    const catalogOf = () => this.cfg.catalogs[["find_records", "for_each"].includes(step.type) ? step.catalog : this.triggerCatalog()];
    let catalog = catalogOf();
    const box = h("fieldset", { class: "scn-filter-input in-json", "data-path": `${path}.${key}` }, h("legend", {}, label));
    const body = h("div");
    const buildable = () => {
      if (!catalog) return false;
      const rows = conditionsOf(step[key] || null);
      const names = new Set([...catalog.fields.map((f) => f.api_name), ...(catalog.hops || []).map((f) => f.api_name)]);
      return rows !== null && rows.every((r) => names.has(r.field));
    };
    let mode = buildable() ? "build" : "json";
    const switcher = h("div", { class: "scn-filter-mode", role: "group", "aria-label": label });
    const draw = () => {
      switcher.replaceChildren(
        ...["build", "json"].map((m) =>
          h("button", { type: "button", class: "button small", "aria-pressed": String(mode === m), disabled: m === "build" && !catalog, onclick: () => {
            if (m === mode) return;
            this.collectBuilders();
            if (m === "build" && !buildable()) {
              setLocalError(switcher, this.s.not_buildable);
              return;
            }
            setLocalError(switcher, null);
            mode = m;
            draw();
          } }, m === "build" ? this.s.build : this.s.as_json),
        ),
      );
      if (mode === "build") {
        const host = h("div", { class: "filter-panel" });
        const entry = { step, key, host, touched: false };
        entry.builder = new FilterBuilder(host, { fields: catalog.fields, hops: catalog.hops, operators: this.cfg.operators, filter: labelsToIds(step[key] || null, catalog.fields) }, (value) => {
          assign(step, key, emptyFilter(step, value));
          this.onChange();
        });
        entry.builder.render();
        for (const ev of ["input", "change", "click"]) host.addEventListener(ev, () => (entry.touched = true));
        this.builders.push(entry);
        body.replaceChildren(host);
      } else {
        body.replaceChildren(this.input(step, { ...spec, input: "json", label: this.s.as_json }, path));
      }
    };
    draw();
    fields.addEventListener("scn-catalog", () => {
      // Another catalog: its fields are not the old filter's.
      delete step[key];
      catalog = catalogOf();
      mode = catalog ? "build" : "json";
      draw();
    });
    box.append(switcher, body, hint ? h("p", { class: "small muted" }, hint) : null);
    return box;
  }

  /** The list `steps` (at `path`, e.g. "steps" or "steps[1].then") as an <ol>. */
  list(steps, path) {
    const ol = h("ol", { class: "scn-steps", "data-path": path });
    steps.forEach((step, i) => ol.append(this.step(steps, i, `${path}[${i}]`)));
    const wrap = h("div", { class: "scn-list" }, ol);
    if (!steps.length) wrap.prepend(h("p", { class: "small muted scn-empty" }, path === "steps" ? this.s.no_steps : this.s.empty_branch));
    wrap.append(this.adder(steps, path));
    return wrap;
  }

  adder(steps, path) {
    const id = uid("scn-add");
    const select = h("select", { id, "data-add-kind": path });
    for (const [kind, label] of Object.entries(this.cfg.kinds)) select.add(new Option(label, kind));
    const add = () => {
      const step = newStep(select.value);
      this.opened.add(step);
      steps.push(step);
      this.onShape(`${path}[${steps.length - 1}]`);
    };
    return h(
      "div",
      { class: "scn-add" },
      h("label", { for: id, class: "sr-only" }, this.s.kind),
      select,
      h("button", { type: "button", class: "button small", onclick: add, "data-add-step": path }, `+ ${this.s.add}`),
    );
  }

  step(steps, i, path) {
    const step = steps[i];
    const kind = step.type;
    const bodyId = uid("scn-body");
    if (!this.opened.has(step) && !this.collapsed.has(step)) this.collapsed.add(step);
    this.opened.add(step);
    const open = !this.collapsed.has(step);
    const toggle = h(
      "button",
      {
        type: "button",
        class: "scn-toggle",
        "aria-expanded": String(open),
        "aria-controls": bodyId,
        title: this.s.collapse,
        "data-step-toggle": path,
        onclick: () => {
          if (this.collapsed.has(step)) this.collapsed.delete(step);
          else this.collapsed.add(step);
          const body = document.getElementById(bodyId);
          body.hidden = !body.hidden;
          toggle.setAttribute("aria-expanded", String(!body.hidden));
        },
      },
      h("span", { class: "scn-num" }, stepNumber(path)),
      h("strong", {}, this.cfg.kinds[kind] || kind),
      h("span", { class: "small muted scn-summary" }, summary(step)),
    );
    const moves = movesOf(this.root(), steps, i, path, this.cfg.branches_of);
    const moved = (to) => to && this.shown(to);
    toggle.setAttribute("aria-keyshortcuts", "Alt+ArrowUp Alt+ArrowDown Alt+ArrowLeft Alt+ArrowRight");
    toggle.addEventListener("keydown", (e) => {
      const name = keyMove(e);
      if (!name) return;
      e.preventDefault();
      if (moves[name]) moved(moves[name]());
    });
    const tool = (label, text, action, disabled, extra = {}) =>
      h("button", { type: "button", class: "icon", "aria-label": label, title: label, disabled, onclick: action, ...extra }, h("span", { "aria-hidden": "true" }, text));
    const panel = this.moveTo(steps, i, path);
    const tools = h(
      "span",
      { class: "scn-tools" },
      tool(this.s.up, "↑", () => moved(moves.up()), !moves.up),
      tool(this.s.down, "↓", () => moved(moves.down()), !moves.down),
      tool(this.s.move_out, "⇤", () => moved(moves.out()), !moves.out, { "data-move": "out" }),
      tool(this.s.move_into, "⇥", () => moved(moves.into()), !moves.into, { "data-move": "into" }),
      panel.opener,
      tool(this.s.delete, "✕", () => {
        steps.splice(i, 1);
        this.onShape(null);
      }),
    );
    const body = h("div", { class: "scn-step-body", id: bodyId, hidden: !open });
    body.append(h("div", { class: "scn-step-errors", "data-errors-for": path }));
    const fields = h("div", { class: "scn-fields" });
    for (const input of this.cfg.forms[kind] || []) {
      if (input.input === "values") fields.append(this.values(step, input, path, fields));
      else if (input.input === "filter") fields.append(this.filter(step, input, path, fields));
      else fields.append(this.input(step, input, path));
    }
    for (const input of this.cfg.common) fields.append(this.input(step, input, path));
    body.append(fields, this.retry(step, path));
    for (const branch of this.cfg.branches_of[kind] || []) body.append(this.branch(step, branch, path));
    if (step.on_error) body.append(this.branch(step, "on_error", path));
    else
      body.append(
        h("button", { type: "button", class: "button small", onclick: () => ((step.on_error = []), this.onShape(`${path}.on_error`)) }, `+ ${this.s.on_error_add}`),
      );
    return h("li", { class: `scn-step kind-${kind}`, "data-path": path, "data-kind": kind }, h("div", { class: "scn-step-head" }, toggle, tools), panel.box, body);
  }

  /** Redraw with the step at `path` in view: the steps holding it unfold, focus goes to it. */
  shown(path) {
    for (const m of path.matchAll(/\]/g)) {
      const holder = at(this.root(), path.slice(0, m.index + 1));
      if (holder && m.index + 1 < path.length) this.collapsed.delete(holder);
    }
    this.onShape(path);
  }

  /** "Move to…": a button opening a list of the branches the step may go into. */
  moveTo(steps, i, path) {
    const id = uid("scn-move");
    const select = h("select", { id, "data-move-target": path });
    const box = h("div", { class: "scn-move-to", hidden: true, "data-move-to": path });
    const close = () => {
      box.hidden = true;
      opener.setAttribute("aria-expanded", "false");
      opener.focus();
    };
    const go = () => {
      const to = moveTo(this.root(), steps, i, select.value, this.cfg.branches_of);
      if (to) this.shown(to);
    };
    const opener = h("button", { type: "button", class: "icon", "aria-label": this.s.move_to, title: this.s.move_to, "aria-expanded": "false", "aria-controls": id, "data-move": "to", onclick: () => {
      if (!box.hidden) return close();
      const root = this.root();
      select.replaceChildren(
        ...destinations(root, path, this.cfg.branches_of).map((list) =>
          new Option(list.owner ? `${stepNumber(list.ownerPath)} ${this.cfg.kinds[list.owner.type] || list.owner.type} → ${this.cfg.branches[list.key] || list.key}` : this.s.move_top, list.path),
        ),
      );
      box.hidden = false;
      opener.setAttribute("aria-expanded", "true");
      select.focus();
    } }, h("span", { "aria-hidden": "true" }, "⇄"));
    box.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
      } else if (e.key === "Enter" && e.target === select) {
        e.preventDefault();
        go();
      }
    });
    box.append(
      h("label", { for: id }, this.s.move_to_label),
      select,
      h("button", { type: "button", class: "button small primary", onclick: go, "data-move-go": path }, this.s.move),
      h("button", { type: "button", class: "button small", onclick: close }, this.s.cancel),
    );
    return { opener, box };
  }

  branch(step, key, path) {
    if (!Array.isArray(step[key])) step[key] = [];
    const titleId = uid("scn-branch");
    return h(
      "section",
      { class: `scn-branch branch-${key}`, "aria-labelledby": titleId },
      h("h4", { id: titleId }, this.cfg.branches[key] || key),
      this.list(step[key], `${path}.${key}`),
    );
  }

  retry(step, path) {
    const retry = step.retry || {};
    const legend = h("legend", { class: "sr-only" }, this.s.retry);
    const set = (key, value) => {
      const next = { ...(step.retry || {}) };
      assign(next, key, value);
      assign(step, "retry", Object.keys(next).length ? next : undefined);
      this.onChange();
    };
    const number = (key, label, value) => {
      const id = uid("scn-retry");
      return h(
        "span",
        { class: "field inline-field" },
        h("label", { for: id }, label),
        h("input", {
          id,
          type: key === "delay" ? "text" : "number",
          min: "1",
          value: value ?? "",
          "data-path": `${path}.retry.${key}`,
          oninput: (e) => set(key, key === "delay" ? e.target.value.trim() : e.target.value === "" ? undefined : Number(e.target.value)),
        }),
      );
    };
    // Folded until a step has a policy of its own: most steps take the scenario's.
    return h(
      "details",
      { class: "scn-retry-box", open: Boolean(step.retry) },
      h("summary", {}, this.s.retry),
      h(
        "fieldset",
        { class: "scn-retry", "data-path": `${path}.retry` },
        legend,
        number("attempts", this.s.attempts, retry.attempts),
        number("delay", this.s.delay, retry.delay),
        number("factor", this.s.factor, retry.factor),
      ),
    );
  }

  /** The fields of the catalog a step writes to: its own, else the trigger's. */
  fieldsOf(step) {
    const catalog = this.cfg.catalogs[step.catalog || this.triggerCatalog()];
    return catalog ? catalog.fields.filter((f) => f.editable) : [];
  }

  /** A record step's values: rows of field and value (a template), added and removed. */
  values(step, spec, path, fields) {
    const box = h("fieldset", { class: "scn-values in-json", "data-path": `${path}.${spec.key}` });
    const draw = () => {
      if (!step.values || typeof step.values !== "object" || Array.isArray(step.values)) step.values = {};
      const values = step.values;
      const known = this.fieldsOf(step);
      const rows = Object.entries(values).map(([key, value]) => this.valueRow(step, key, value, known, path, draw));
      const add = () => {
        const free = known.find((f) => !(f.api_name in values));
        if (!free) return;
        values[free.api_name] = "";
        this.onChange();
        draw();
        box.querySelector(".scn-value-row:last-of-type input")?.focus();
      };
      const hintId = uid("scn-hint");
      box.replaceChildren(
        h("legend", {}, spec.label),
        ...rows,
        h("button", { type: "button", class: "button small", onclick: add, disabled: !known.some((f) => !(f.api_name in values)), "aria-describedby": hintId }, `+ ${this.s.add_value}`),
        h("p", { class: "small muted", id: hintId }, spec.hint),
      );
    };
    fields.addEventListener("scn-catalog", draw);
    draw();
    return box;
  }

  valueRow(step, key, value, known, path, redraw) {
    const values = step.values;
    const field = known.find((f) => f.api_name === key);
    const select = h("select", { "aria-label": this.s.field });
    for (const f of known) if (f.api_name === key || !(f.api_name in values)) select.add(new Option(f.name, f.api_name, false, f.api_name === key));
    if (!field) select.add(new Option(key, key, false, true));
    select.addEventListener("change", () => {
      // Renaming keeps the order of the keys.
      const next = {};
      for (const [k, v] of Object.entries(values)) next[k === key ? select.value : k] = v;
      step.values = next;
      this.onChange();
      redraw();
    });
    const input = h("input", {
      type: "text",
      value: typeof value === "string" ? value : JSON.stringify(value),
      "aria-label": this.s.value_of.replace("%(field)s", field ? field.name : key),
      "data-path": `${path}.values.${key}`,
      spellcheck: "false",
    });
    input.addEventListener("input", () => {
      values[key] = typedValue(input.value, field);
      this.onChange();
    });
    const remove = h(
      "button",
      { type: "button", class: "icon", "aria-label": this.s.remove, title: this.s.remove, onclick: () => (delete values[key], this.onChange(), redraw()) },
      h("span", { "aria-hidden": "true" }, "✕"),
    );
    return h("div", { class: "scn-value-row" }, select, input, remove);
  }

  input(step, spec, path) {
    const { key, label, input, hint } = spec;
    const id = uid("scn-in");
    const hintId = hint ? `${id}-hint` : null;
    const where = `${path}.${key}`;
    const value = step[key];
    const changed = () => this.onChange();
    let control;
    const plain = value === undefined || typeof value === "string" || typeof value === "number";
    if (input === "json") {
      control = h("textarea", { id, rows: "3", class: "code", spellcheck: "false" });
      control.value = value === undefined ? "" : JSON.stringify(value, null, 2);
      control.addEventListener("input", () => {
        const text = control.value.trim();
        try {
          assign(step, key, text ? JSON.parse(text) : undefined);
          this.invalid.delete(where);
          control.removeAttribute("aria-invalid");
          setLocalError(control, null);
        } catch (_) {
          this.invalid.add(where);
          control.setAttribute("aria-invalid", "true");
          setLocalError(control, this.s.json_invalid);
        }
        changed();
      });
    } else if (input === "check") {
      control = h("input", { id, type: "checkbox", checked: value === true });
      control.addEventListener("change", () => (assign(step, key, control.checked ? true : undefined), changed()));
      return h("div", { class: "field scn-check" }, h("label", { class: "choice" }, control, " ", label), hint ? h("p", { class: "small muted", id: hintId }, hint) : null);
    } else if (input === "catalog" || input === "scenario" || input.startsWith("select:")) {
      control = h("select", { id });
      control.add(new Option(this.s.none, ""));
      const options =
        input === "catalog"
          ? Object.entries(this.cfg.catalogs).map(([api, c]) => [api, c.name])
          : input === "scenario"
            ? this.cfg.scenarios.map((x) => [String(x.id), `${x.name} (#${x.id})`])
            : input.slice(7).split("|").map((v) => [v, v]);
      for (const [v, t] of options) control.add(new Option(t, v, false, String(value ?? "") === v));
      if (value !== undefined && !options.some(([v]) => v === String(value))) control.add(new Option(String(value), String(value), false, true));
      control.addEventListener("change", () => {
        const v = control.value;
        assign(step, key, input === "scenario" && /^\d+$/.test(v) ? Number(v) : v);
        // The step's values offer the fields of the catalog now chosen.
        if (input === "catalog") control.dispatchEvent(new CustomEvent("scn-catalog", { bubbles: true }));
        changed();
      });
    } else if (input === "list" || input === "numbers") {
      control = h("input", { id, type: "text", value: Array.isArray(value) ? value.join(", ") : (value ?? "") });
      control.addEventListener("input", () => {
        const parts = control.value.split(",").map((x) => x.trim()).filter(Boolean);
        assign(step, key, input === "numbers" ? parts.map((x) => (/^-?\d+(\.\d+)?$/.test(x) ? Number(x) : x)) : parts);
        changed();
      });
    } else if (input === "textarea" && plain) {
      control = h("textarea", { id, rows: "3" });
      control.value = value ?? "";
      control.addEventListener("input", () => (assign(step, key, control.value), changed()));
    } else if (plain) {
      control = h("input", { id, type: input === "number" ? "number" : "text", value: value ?? "", spellcheck: "false" });
      control.addEventListener("input", () => {
        const v = control.value;
        assign(step, key, input === "number" && v !== "" && !Number.isNaN(Number(v)) ? Number(v) : v);
        changed();
      });
    } else {
      // A value of another shape (a list of users, an object) stays as it is: JSON tab.
      control = h("input", { id, type: "text", value: JSON.stringify(value), readonly: true });
    }
    control.dataset.path = where;
    if (hintId) control.setAttribute("aria-describedby", hintId);
    return h("div", { class: `field scn-input in-${input.split(":")[0]}` }, h("label", { for: id }, label), control, hint ? h("p", { class: "small muted", id: hintId }, hint) : null);
  }
}

const NUMBERS = new Set(["number", "money", "percent", "rating", "duration"]);

/** A typed value as the field wants it: numbers for number fields, true/false for a
 *  checkbox, a JSON list for links and multiple choices; anything else is text. */
export function typedValue(text, field) {
  const type = field ? field.type : "";
  if (NUMBERS.has(type) && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  if (type === "checkbox" && /^(true|false)$/.test(text.trim())) return text.trim() === "true";
  if (/^\s*\[/.test(text)) {
    try {
      return JSON.parse(text);
    } catch (_) {
      return text;
    }
  }
  return text;
}

/** No conditions: a condition keeps `{}` (always true), other steps drop the key. */
function emptyFilter(step, value) {
  return value || (step.type === "condition" ? {} : undefined);
}

/** A select field's choice written by its label ("Won") as its id, which the builder shows. */
export function labelsToIds(filter, fields) {
  if (!filter || typeof filter !== "object") return filter;
  const byName = Object.fromEntries(fields.filter((f) => f.type === "select").map((f) => [f.api_name, f.choices || []]));
  const idOf = (choices, v) => choices.find((c) => c.label === v)?.id ?? v;
  const part = (p) => {
    if (!p || typeof p !== "object" || Array.isArray(p)) return p;
    const out = {};
    for (const [key, test] of Object.entries(p)) {
      const choices = byName[key];
      if (key === "and" || key === "or") out[key] = Array.isArray(test) ? test.map(part) : test;
      else if (!choices) out[key] = test;
      else if (typeof test === "string") out[key] = idOf(choices, test);
      else if (test && typeof test === "object" && !Array.isArray(test))
        out[key] = Object.fromEntries(Object.entries(test).map(([op, v]) => [op, Array.isArray(v) ? v.map((x) => idOf(choices, x)) : idOf(choices, v)]));
      else out[key] = test;
    }
    return out;
  };
  return part(filter);
}

/** "steps[1].then[0]" -> "2.1": the step's place for people. */
export function stepNumber(path) {
  return (path.match(/\[(\d+)\]/g) || []).map((x) => Number(x.slice(1, -1)) + 1).join(".");
}

/** A local message under an input (invalid JSON), replacing the previous one. */
export function setLocalError(control, text) {
  const next = control.nextElementSibling;
  if (next && next.classList.contains("local-error")) next.remove();
  if (!text) return;
  const p = h("p", { class: "field-error local-error", role: "alert" }, text);
  control.after(p);
}

const SUMMARY_KEYS = {
  http: (s) => [s.method, s.url],
  email: (s) => [s.to, s.subject],
  wait: (s) => [s.duration || s.until || (s.until_filter ? JSON.stringify(s.until_filter) : "")],
  condition: (s) => [JSON.stringify(s.filter || {})],
  create_record: (s) => [s.catalog],
  update_record: (s) => [s.catalog, s.record],
  delete_record: (s) => [s.catalog, s.record],
  find_records: (s) => [s.catalog, s.into],
  for_each: (s) => [s.catalog || s.items, s.as],
  notify: (s) => [s.title],
  comment: (s) => [s.text],
  call: (s) => [s.scenario ? `#${s.scenario}` : ""],
  stop: (s) => [s.status, s.message],
  set: (s) => [Object.keys(s.vars || {}).join(", ")],
};

/** A step in a few words for its heading: "POST https://…", "P7D". */
export function summary(step) {
  const pick = SUMMARY_KEYS[step.type];
  const parts = (pick ? pick(step) : []).filter((x) => typeof x === "string" && x);
  const text = [step.id ? `${step.id}:` : "", ...parts].filter(Boolean).join(" ");
  return text.length > 70 ? `${text.slice(0, 69)}…` : text;
}
