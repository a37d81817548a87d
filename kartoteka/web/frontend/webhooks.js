// The webhook designer and the secret page. The designer is a plain form that works
// without this script; here the events and options follow the chosen kind, the watched
// fields and the filter builder follow the chosen catalog, and the builder's conditions
// go into the form's hidden `filter` input when it is sent.
import { FilterBuilder } from "./filter.js";
import { copyButtons, escapeHtml } from "./ui.js";

function readConfig() {
  const block = document.getElementById("webhook-config");
  return block ? JSON.parse(block.textContent) : null;
}

function followKind(form) {
  const kind = form.querySelector("[data-kind]:checked")?.value || "notify";
  for (const group of form.querySelectorAll("[data-events-of]")) {
    const mine = group.dataset.eventsOf === kind;
    group.hidden = !mine;
    for (const box of group.querySelectorAll("input")) box.disabled = !mine;
  }
  for (const el of document.querySelectorAll("[data-notify-only]")) el.hidden = kind !== "notify";
  for (const el of document.querySelectorAll("[data-request-only]")) el.hidden = kind !== "request";
}

function watchedFields(form, fields) {
  const host = form.querySelector("[data-fields]");
  host.innerHTML = fields
    .filter((f) => !f.read_only)
    .map(
      (f) => `<label class="choice"><input type="checkbox" name="fields" value="${escapeHtml(f.api_name)}"> ${escapeHtml(f.name)}</label>`,
    )
    .join("");
}

function filterBuilder(cfg, catalog, filter) {
  const host = document.querySelector("[data-filter-host]");
  const hidden = document.querySelector("[data-filter-value]");
  const own = cfg.catalogs[catalog] || { fields: [], hops: [] };
  const builder = new FilterBuilder(
    host,
    { fields: own.fields, hops: own.hops, operators: cfg.operators, filter },
    (value) => {
      hidden.value = value ? JSON.stringify(value) : "";
    },
  );
  builder.render();
  return builder;
}

function designer(form) {
  const cfg = readConfig();
  if (!cfg) return;
  const hidden = document.querySelector("[data-filter-value]");
  let filter = null;
  try {
    filter = hidden.value ? JSON.parse(hidden.value) : null;
  } catch (_) {
    filter = null;
  }
  const catalogSelect = form.querySelector("[data-catalog]");
  let builder = filterBuilder(cfg, catalogSelect.value, filter);
  for (const radio of form.querySelectorAll("[data-kind]")) radio.addEventListener("change", () => followKind(form));
  followKind(form);
  catalogSelect.addEventListener("change", () => {
    const own = cfg.catalogs[catalogSelect.value] || { fields: [] };
    watchedFields(form, own.fields);
    hidden.value = "";
    builder = filterBuilder(cfg, catalogSelect.value, null);
  });
  form.addEventListener("submit", () => {
    // Conditions typed but not applied still count: what the page shows is what is saved.
    const builderForm = document.querySelector("[data-filter-host] form");
    if (builderForm) {
      builder.collect(builderForm);
      const value = builder.toFilter();
      hidden.value = value ? JSON.stringify(value) : "";
    }
  });
}

const form = document.querySelector("[data-webhook-form]");
if (form) designer(form);
copyButtons();
