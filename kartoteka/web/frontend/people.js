// The people, rights and settings pages: copy buttons, the user form's small helpers.
import "./people.css";
import { FilterBuilder } from "./filter.js";
import { strings, toast } from "./ui.js";

function copyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      const text = source ? (source.value ?? source.textContent).trim() : "";
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        // Without clipboard access (plain http), select the text so Ctrl+C copies it.
        if (source && source.select) source.select();
        return;
      }
      toast(strings().copied || "Copied");
    });
  }
}

function signInChoice() {
  const box = document.querySelector("[data-how-password]");
  if (!box) return;
  const sync = () => {
    const chosen = document.querySelector("[data-how]:checked");
    box.hidden = !chosen || chosen.value !== "password";
  };
  for (const radio of document.querySelectorAll("[data-how]")) radio.addEventListener("change", sync);
  sync();
}

// The rights designer: each record rule is a mode (none, all, rule, saved view); a rule
// is edited with the filter builder, which writes the JSON the form posts. The JSON stays
// editable for what the builder cannot draw (nested and/or).
function ruleRow(row, cfg) {
  const mode = row.querySelector("[data-rule-mode]");
  const json = row.querySelector("[data-rule-json]");
  const host = row.querySelector("[data-rule-builder]");
  const state = { builder: null, broken: false };
  const build = () => {
    let filter = null;
    state.broken = false;
    try {
      filter = json.value.trim() ? JSON.parse(json.value) : null;
    } catch (_) {
      state.broken = true;
    }
    state.builder = new FilterBuilder(host, { ...cfg, filter }, (f) => {
      json.value = f ? JSON.stringify(f) : "";
    });
    state.builder.render();
  };
  const sync = () => {
    for (const body of row.querySelectorAll("[data-when]")) body.hidden = body.dataset.when !== mode.value;
  };
  mode.addEventListener("change", sync);
  json.addEventListener("change", build);
  build();
  sync();
  return () => {
    // Before the form posts: what the builder shows is the rule (unless the JSON is broken).
    const form = host.querySelector(".filter-form");
    if (mode.value !== "rule" || state.broken || !form) return;
    state.builder.collect(form);
    const filter = state.builder.toFilter();
    json.value = filter ? JSON.stringify(filter) : "";
  };
}

function rightsDesigner() {
  const block = document.getElementById("rule-config");
  const form = document.querySelector(".rights-form");
  if (!block || !form) return;
  const cfg = JSON.parse(block.textContent);
  const flushes = [...form.querySelectorAll("[data-rule]")].map((row) => ruleRow(row, cfg));
  form.addEventListener("submit", () => flushes.forEach((flush) => flush()));
}

copyButtons();
signInChoice();
rightsDesigner();
