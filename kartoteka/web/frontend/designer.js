// The designers (catalogs, fields, views): drag to reorder (the lists post their new order to
// the same form the arrow buttons use), the select choices editor (add, remove, drag
// rows; colour swatch follows the choice), and re-rendering a field form when its type
// changes. Without this script every page still works through its buttons.
import Sortable from "sortablejs";
import { FilterBuilder } from "./filter.js";

/** Lists inside a form[data-catalog-order] / form[data-field-order]: drop = save the order. */
function orderForms() {
  for (const form of document.querySelectorAll("form[data-catalog-order], form[data-field-order]")) {
    const lists = form.querySelectorAll("[data-sortable]");
    const save = () => {
      const ids = [...form.querySelectorAll("[data-sortable] > li[data-id]")].map((li) => li.dataset.id);
      form.querySelector("input[name=order]").value = ids.join(",");
      form.querySelector("[aria-busy]")?.removeAttribute("aria-busy");
      form.submit();
    };
    for (const list of lists) {
      Sortable.create(list, { handle: ".handle", animation: 120, forceFallback: true, onEnd: (e) => e.oldIndex !== e.newIndex && save() });
    }
  }
}

function choicesEditor() {
  const box = document.querySelector("[data-choices]");
  if (!box) return;
  const rows = box.querySelector(".choice-rows");
  const add = box.querySelector("[data-add-choice]");
  const paint = (select) => {
    select.className = select.className.replace(/\bc-[a-z]+\b/g, "").trim() + ` c-${select.value || "gray"}`;
  };
  const wire = (row) => {
    const remove = row.querySelector("[data-remove-choice]");
    remove.hidden = false;
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      (next?.querySelector("input[type=text]") || add).focus();
    });
    const color = row.querySelector("select");
    color.addEventListener("change", () => paint(color));
  };
  // Keep one empty row at the end; the script adds more on demand.
  const all = [...rows.children];
  const blanks = all.filter((li) => !li.querySelector("input[type=text]").value);
  blanks.slice(1).forEach((li) => li.remove());
  const template = (blanks[0] || all[all.length - 1]).cloneNode(true);
  [...rows.children].forEach(wire);
  let counter = rows.children.length + 100;
  add.hidden = false;
  add.addEventListener("click", () => {
    const row = template.cloneNode(true);
    counter += 1;
    for (const el of row.querySelectorAll("[id]")) el.id = el.id.replace(/\d+$/, String(counter));
    for (const el of row.querySelectorAll("label[for]")) el.htmlFor = el.htmlFor.replace(/\d+$/, String(counter));
    row.querySelector("input[type=text]").value = "";
    row.querySelector("input[name=choice_id]").value = "";
    rows.append(row);
    wire(row);
    row.querySelector("input[type=text]").focus();
  });
  Sortable.create(rows, { handle: ".handle", animation: 120 });
}

/** Changing a field's type re-renders the form with that type's options (no data lost). */
function retype() {
  const select = document.querySelector("select[data-retype]");
  const button = document.querySelector("[data-retype-button]");
  if (!select || !button) return;
  button.hidden = true;
  select.addEventListener("change", () => {
    const form = select.form;
    const flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = "retype";
    flag.value = "1";
    form.append(flag);
    form.submit();
  });
}

/** A view's form: the filter builder writes into the hidden `filter`; fields reorder by drag. */
function viewForm() {
  const form = document.querySelector("form[data-view-form]");
  const block = document.getElementById("view-config");
  if (!form || !block) return;
  const cfg = JSON.parse(block.textContent);
  const hidden = form.querySelector("[data-filter-value]");
  const host = document.querySelector("[data-filter-host]");
  const builder = new FilterBuilder(host, cfg, (value) => {
    hidden.value = value ? JSON.stringify(value) : "";
  });
  builder.render();
  form.addEventListener("submit", () => {
    // Conditions typed but not applied still count: what the page shows is what is saved.
    const builderForm = host.querySelector("form");
    if (builderForm) {
      builder.collect(builderForm);
      const value = builder.toFilter();
      hidden.value = value ? JSON.stringify(value) : "";
    }
  });
  const list = form.querySelector("[data-sortable-fields]");
  if (list) Sortable.create(list, { handle: ".handle", animation: 120 });
}

orderForms();
choicesEditor();
retype();
viewForm();
