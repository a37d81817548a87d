// Scenarios: the step editor (trigger, step tree with a form per kind, JSON tab), the test
// mode's record picker and the token page's copy button.
import TomSelect from "tom-select/base";
import { api } from "./api.js";
import { ScenarioEditor } from "./scenario_editor.js";
import { copyButtons } from "./ui.js";

function recordPicker(input) {
  const catalog = input.dataset.catalog;
  const titleField = input.dataset.titleField;
  const label = (r) => {
    const title = titleField && r.values ? r.values[titleField] : "";
    return title ? `${title} (#${r.id})` : `#${r.id}`;
  };
  return new TomSelect(input, {
    valueField: "id",
    labelField: "title",
    searchField: ["title"],
    maxItems: 1,
    create: (text) => (/^\d+$/.test(text) ? { id: text, title: `#${text}` } : false),
    createOnBlur: true,
    placeholder: input.dataset.placeholder,
    preload: "focus",
    loadThrottle: 250,
    load(query, done) {
      const search = query && !/^\d+$/.test(query) ? `&search=${encodeURIComponent(query)}` : "";
      api("GET", `catalogs/${encodeURIComponent(catalog)}/records?limit=20${search}`)
        .then((answer) => done(answer.items.map((r) => ({ id: String(r.id), title: label(r) }))))
        .catch(() => done());
    },
  });
}

const form = document.querySelector("[data-scenario-form]");
const config = document.getElementById("scenario-config");
if (form && config) new ScenarioEditor(form, JSON.parse(config.textContent)).start();
for (const input of document.querySelectorAll("[data-record-picker]")) recordPicker(input);
copyButtons();
