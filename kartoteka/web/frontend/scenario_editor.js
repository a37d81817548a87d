// The scenario editor: name and switch, the trigger (its catalog, watched fields, the
// filter in the views' filter builder, cron, date field and offset), options, the step
// tree (scenario_steps.js) and a JSON tab. The form posts one field, `definition`: the
// textarea of the JSON tab, which this script keeps equal to what the editor shows. The
// server's reasons come back by place (`steps[2].url`) and are put beside that input.
import { FilterBuilder } from "./filter.js";
import { assign, h, labelsToIds, setLocalError, StepTree } from "./scenario_steps.js";

const RECORD_CHANGES = ["record.updated", "record.saved"];
const FILTERED = ["record.created", "record.updated", "record.saved", "date"];

export class ScenarioEditor {
  constructor(form, cfg) {
    this.form = form;
    this.cfg = cfg;
    this.s = cfg.strings;
    this.textarea = form.querySelector("[data-definition]");
    this.visual = form.querySelector("[data-visual]");
    this.jsonPane = form.querySelector("[data-json-pane]");
    this.tree = new StepTree(cfg, (focus) => this.reshape(focus), () => this.sync());
    this.tree.triggerCatalog = () => this.def && this.def.trigger && this.def.trigger.catalog;
    this.tree.root = () => this.def;
    this.builder = null;
    this.errors = { ...cfg.errors };
  }

  start() {
    let def;
    try {
      def = JSON.parse(this.textarea.value);
    } catch (_) {
      def = null;
    }
    this.tabs(def !== null && typeof def === "object" && !Array.isArray(def));
    if (def && typeof def === "object" && !Array.isArray(def)) {
      this.def = def;
      this.draw();
      this.showErrors();
    }
    this.form.addEventListener("submit", (e) => this.submit(e));
    // Leaving with changes not saved asks first (the browser's own question).
    this.initial = this.snapshot();
    window.addEventListener("beforeunload", (e) => {
      if (this.submitting || this.snapshot() === this.initial) return;
      e.preventDefault();
      e.returnValue = "";
    });
  }

  /** The definition as shown, normalised, to tell whether anything changed. */
  snapshot() {
    if (this.current === "visual" && this.def) return JSON.stringify(this.def);
    try {
      return JSON.stringify(JSON.parse(this.textarea.value));
    } catch (_) {
      return this.textarea.value;
    }
  }

  // ----- tabs ----------------------------------------------------------------------------
  tabs(visualFirst) {
    const list = h("div", { class: "scn-tabbar", role: "tablist", "aria-label": this.s.view || "" });
    const tab = (name, label, pane) =>
      h("button", { type: "button", role: "tab", id: `scn-tab-${name}`, "aria-controls": pane.id, "data-tab": name, onclick: () => this.show(name), onkeydown: (e) => this.arrows(e) }, label);
    this.visual.id = "scn-pane-visual";
    this.jsonPane.id = "scn-pane-json";
    this.visual.setAttribute("role", "tabpanel");
    this.jsonPane.setAttribute("role", "tabpanel");
    this.visual.setAttribute("aria-labelledby", "scn-tab-visual");
    this.jsonPane.setAttribute("aria-labelledby", "scn-tab-json");
    list.append(tab("visual", this.s.tab_visual, this.visual), tab("json", "JSON", this.jsonPane));
    this.form.prepend(list);
    this.tabList = list;
    this.current = null;
    this.show(visualFirst ? "visual" : "json", false);
  }

  arrows(e) {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = this.current === "visual" ? "json" : "visual";
    this.show(next);
    this.tabList.querySelector(`[data-tab="${next}"]`).focus();
  }

  show(name, focus = true) {
    if (name === this.current) return;
    if (name === "visual" && this.current === "json") {
      try {
        const def = JSON.parse(this.textarea.value);
        if (!def || typeof def !== "object" || Array.isArray(def)) throw new Error("object");
        this.def = def;
        setLocalError(this.textarea, null);
      } catch (_) {
        setLocalError(this.textarea, this.s.json_invalid);
        if (focus) this.textarea.focus();
        return;
      }
      this.errors = {};
      this.draw();
    }
    if (name === "json" && this.current === "visual") this.sync(true);
    this.current = name;
    this.visual.hidden = name !== "visual";
    this.jsonPane.hidden = name !== "json";
    for (const b of this.tabList.querySelectorAll("[role=tab]")) {
      const on = b.dataset.tab === name;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
  }

  // ----- drawing -------------------------------------------------------------------------
  draw() {
    const def = this.def;
    if (!def.trigger || typeof def.trigger !== "object") def.trigger = { type: "manual" };
    if (!Array.isArray(def.steps)) def.steps = [];
    this.visual.replaceChildren(this.basics(), this.trigger(), this.options(), this.stepsSection());
  }

  reshape(focusPath) {
    // The tree changed shape: the server's places no longer match, so its marks go.
    this.errors = {};
    this.tree.invalid.clear();
    this.sync();
    const tree = this.visual.querySelector("[data-steps-host]");
    tree.replaceChildren(this.tree.list(this.def.steps, "steps"));
    const target = focusPath ? this.visual.querySelector(`[data-step-toggle="${CSS.escape(focusPath)}"]`) : tree.querySelector("[data-add-step]");
    target?.focus();
  }

  sync(force = false) {
    if (this.current === "json" && !force) return;
    this.textarea.value = JSON.stringify(this.def, null, 2);
  }

  field(label, control, hint) {
    const id = control.id || `scn-f-${Math.random().toString(36).slice(2, 8)}`;
    control.id = id;
    const hintEl = hint ? h("p", { class: "small muted", id: `${id}-hint` }, hint) : null;
    if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
    return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
  }

  text(target, key, path, attrs = {}) {
    const input = h(attrs.rows ? "textarea" : "input", { type: attrs.rows ? undefined : "text", ...attrs, "data-path": path });
    input.value = target[key] ?? "";
    input.addEventListener("input", () => {
      assign(target, key, attrs.type === "number" ? (input.value === "" ? undefined : Number(input.value)) : input.value);
      this.sync();
    });
    return input;
  }

  basics() {
    const def = this.def;
    const active = h("input", { type: "checkbox", id: "scn-active", checked: def.active !== false, "data-path": "active" });
    active.addEventListener("change", () => ((def.active = active.checked), this.sync()));
    return h(
      "section",
      { class: "scn-section scn-basics" },
      this.field(this.s.name, this.text(def, "name", "name", { id: "scn-name", required: true, maxlength: "200" })),
      this.field(this.s.description, this.text(def, "description", "description", { id: "scn-description", rows: "2" })),
      h("label", { class: "choice" }, active, " ", this.s.active),
    );
  }

  trigger() {
    const section = h("section", { class: "scn-section scn-trigger", "aria-labelledby": "scn-trigger-title" }, h("h2", { id: "scn-trigger-title" }, this.s.trigger));
    section.append(h("div", { class: "scn-step-errors", "data-errors-for": "trigger" }));
    const t = this.def.trigger;
    const type = h("select", { id: "scn-trigger-type", "data-path": "trigger.type" });
    for (const [k, label] of Object.entries(this.cfg.triggers)) type.add(new Option(label, k, false, k === t.type));
    const body = h("div", { class: "scn-trigger-body" });
    type.addEventListener("change", () => {
      const catalog = t.catalog;
      for (const key of Object.keys(t)) delete t[key];
      t.type = type.value;
      if (catalog && (this.cfg.catalog_triggers.includes(t.type) || t.type === "manual")) t.catalog = catalog;
      if (this.cfg.catalog_triggers.includes(t.type) && !t.catalog) t.catalog = Object.keys(this.cfg.catalogs)[0];
      if (t.type === "schedule") t.cron = "0 9 * * 1-5";
      this.triggerBody(body);
      this.sync();
    });
    section.append(this.field(this.s.trigger_type, type));
    this.triggerBody(body);
    section.append(body);
    return section;
  }

  triggerBody(body) {
    const t = this.def.trigger;
    const parts = [];
    const withCatalog = this.cfg.catalog_triggers.includes(t.type) || t.type === "manual";
    if (withCatalog) {
      const select = h("select", { id: "scn-trigger-catalog", "data-path": "trigger.catalog" });
      if (t.type === "manual") select.add(new Option(this.s.none, ""));
      for (const [api, c] of Object.entries(this.cfg.catalogs)) select.add(new Option(c.name, api, false, api === t.catalog));
      select.addEventListener("change", () => {
        assign(t, "catalog", select.value);
        delete t.fields;
        delete t.filter;
        delete t.field;
        this.triggerBody(body);
        this.sync();
        // Conditions and waits test the trigger's records: their builders follow.
        this.visual.querySelector("[data-steps-host]")?.replaceChildren(this.tree.list(this.def.steps, "steps"));
      });
      parts.push(this.field(this.s.catalog, select));
    }
    const catalog = this.cfg.catalogs[t.catalog];
    if (RECORD_CHANGES.includes(t.type) && catalog) parts.push(this.watched(t, catalog));
    if (t.type === "schedule") parts.push(this.field(this.s.cron, this.text(t, "cron", "trigger.cron", { id: "scn-cron", spellcheck: "false" }), this.s.cron_hint));
    if (t.type === "date" && catalog) parts.push(...this.dateParts(t, catalog));
    if (t.type === "webhook") parts.push(h("p", { class: "small muted" }, this.s.webhook_hint));
    if (FILTERED.includes(t.type) && catalog) parts.push(this.filterPart(t, catalog));
    if (RECORD_CHANGES.includes(t.type)) {
      const when = h("select", { id: "scn-when", "data-path": "trigger.when" });
      when.add(new Option(this.s.when_became, "", false, t.when !== "matches"));
      when.add(new Option(this.s.when_matches, "matches", false, t.when === "matches"));
      when.addEventListener("change", () => (assign(t, "when", when.value), this.sync()));
      parts.push(this.field(this.s.when, when));
    }
    body.replaceChildren(...parts);
  }

  watched(t, catalog) {
    const chosen = new Set(t.fields || []);
    const boxes = catalog.fields
      .filter((f) => !f.read_only)
      .map((f) => {
        const box = h("input", { type: "checkbox", value: f.api_name, checked: chosen.has(f.api_name) });
        box.addEventListener("change", () => {
          if (box.checked) chosen.add(f.api_name);
          else chosen.delete(f.api_name);
          assign(t, "fields", [...chosen]);
          this.sync();
        });
        return h("label", { class: "choice" }, box, " ", f.name);
      });
    return h("fieldset", { class: "scn-watched", "data-path": "trigger.fields" }, h("legend", {}, this.s.fields), h("p", { class: "small muted" }, this.s.fields_hint), h("div", { class: "checks" }, boxes));
  }

  dateParts(t, catalog) {
    const select = h("select", { id: "scn-date-field", "data-path": "trigger.field" });
    select.add(new Option(this.s.none, ""));
    for (const f of catalog.fields.filter((x) => ["date", "datetime"].includes(x.type))) select.add(new Option(f.name, f.api_name, false, f.api_name === t.field));
    select.addEventListener("change", () => (assign(t, "field", select.value), this.sync()));
    const yearly = h("input", { type: "checkbox", checked: t.yearly === true, "data-path": "trigger.yearly" });
    yearly.addEventListener("change", () => (assign(t, "yearly", yearly.checked ? true : undefined), this.sync()));
    return [
      this.field(this.s.date_field, select),
      this.field(this.s.offset, this.text(t, "offset", "trigger.offset", { id: "scn-offset", spellcheck: "false" }), this.s.offset_hint),
      this.field(this.s.at, this.text(t, "at", "trigger.at", { id: "scn-at", placeholder: "09:00" })),
      h("label", { class: "choice" }, yearly, " ", this.s.yearly),
    ];
  }

  filterPart(t, catalog) {
    const host = h("div", { class: "filter-panel", "data-filter-host": "", "data-path": "trigger.filter" });
    const filter = labelsToIds(t.filter || null, catalog.fields);
    const builder = new FilterBuilder(host, { fields: catalog.fields, hops: catalog.hops, operators: this.cfg.operators, filter }, (value) => {
      assign(t, "filter", value || undefined);
      this.sync();
    });
    builder.render();
    // Only a builder someone touched is read on saving: an untouched one keeps the
    // filter exactly as it was written.
    const touched = () => (this.builder.touched = true);
    host.addEventListener("input", touched);
    host.addEventListener("change", touched);
    host.addEventListener("click", touched);
    this.builder = { builder, host, touched: false };
    return h("div", { class: "scn-filter" }, h("h3", {}, this.s.filter), h("p", { class: "small muted" }, this.s.filter_hint), host);
  }

  options() {
    if (!this.def.options || typeof this.def.options !== "object") this.def.options = {};
    const o = this.def.options;
    const number = (key, label) => this.field(label, this.text(o, key, `options.${key}`, { id: `scn-opt-${key}`, type: "number", min: "1" }));
    return h(
      "details",
      { class: "scn-section scn-options" },
      h("summary", {}, this.s.options),
      h("div", { class: "scn-fields" }, number("concurrency", this.s.concurrency), number("http_per_second", this.s.http_per_second), number("max_depth", this.s.max_depth)),
    );
  }

  stepsSection() {
    return h(
      "section",
      { class: "scn-section scn-tree", "aria-labelledby": "scn-steps-title" },
      h("h2", { id: "scn-steps-title" }, this.s.steps_count),
      this.names(),
      h("div", { "data-steps-host": "" }, this.tree.list(this.def.steps, "steps")),
    );
  }

  /** What templates may name, with the trigger catalog's fields. */
  names() {
    const catalog = this.cfg.catalogs[this.def.trigger.catalog];
    const fields = catalog ? catalog.fields.slice(0, 12).map((f) => `record.${f.api_name}`) : ["record.<field>"];
    const row = (code, text) => h("li", {}, h("code", {}, code), " — ", text);
    return h(
      "details",
      { class: "scn-names" },
      h("summary", {}, this.s.names),
      h(
        "ul",
        { class: "small" },
        row(`{{ ${fields.join(" }}, {{ ")} }}, {{ record.id }}`, this.s.names_record),
        row("{{ previous.<field> }}", this.s.names_previous),
        row("{{ vars.<name> }}", this.s.names_vars),
        row("{{ steps.<name>.<key> }}", this.s.names_steps),
        row("{{ user.name }}, {{ user.email }}", this.s.names_user),
        row("{{ now }}, {{ today }}", this.s.names_now),
        row('{"expr": "record.amount * 1.2"}', this.s.names_expr),
      ),
    );
  }

  // ----- errors and saving ---------------------------------------------------------------
  showErrors() {
    for (const [path, text] of Object.entries(this.errors)) {
      const input = this.visual.querySelector(`[data-path="${CSS.escape(path)}"]`);
      const message = h("p", { class: "field-error", id: `err-${path.replace(/[^\w-]/g, "_")}` }, text);
      if (input && !input.matches("li, ol, fieldset, .filter-panel")) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", `${message.id} ${input.getAttribute("aria-describedby") || ""}`.trim());
        input.after(message);
        // Folded parts (retries, options) open to show the place.
        for (let d = input.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
      } else {
        const box = this.nearestErrors(path);
        if (box) box.append(message);
      }
      this.reveal(path);
    }
  }

  nearestErrors(path) {
    let at = path;
    while (at) {
      const box = this.visual.querySelector(`[data-errors-for="${CSS.escape(at)}"]`);
      if (box) return box;
      const cut = at.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (cut === at) break;
      at = cut;
    }
    return null;
  }

  reveal(path) {
    // Open every folded step on the way to the place of an error.
    for (const li of this.visual.querySelectorAll("li.scn-step")) {
      if (path.startsWith(`${li.dataset.path}.`) || path === li.dataset.path) {
        const toggle = li.querySelector(":scope > .scn-step-head .scn-toggle");
        if (toggle && toggle.getAttribute("aria-expanded") === "false") toggle.click();
      }
    }
  }

  submit(e) {
    if (this.current !== "visual" || !this.def) {
      this.submitting = true;
      return;
    }
    if (this.tree.invalid.size) {
      e.preventDefault();
      this.visual.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    this.tree.collectBuilders();
    if (this.builder && this.builder.touched && this.builder.host.isConnected) {
      // Conditions typed but not applied still count: what the page shows is saved.
      const { builder, host } = this.builder;
      const form = host.querySelector(".filter-form");
      if (form) {
        builder.collect(form);
        assign(this.def.trigger, "filter", builder.toFilter() || undefined);
      }
    }
    this.sync(true);
    this.submitting = true;
  }
}
