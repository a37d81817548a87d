// The merge form (templates/duplicates/merge.html): choosing another record to keep moves
// each field's choice the user has not touched to that record's own value, where it has
// one (as the server chooses when the form is shown). "All of them together" stays.
export function initMergeForm(form) {
  const touched = new Set();
  form.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "radio") return;
    if (input.name !== "into") {
      touched.add(input.name);
      return;
    }
    for (const field of form.querySelectorAll("[data-merge-field]")) {
      const radios = [...field.querySelectorAll('input[type="radio"]')];
      if (!radios.length || touched.has(radios[0].name)) continue;
      if (radios.some((r) => r.checked && r.value === "all")) continue;
      const own = radios.find((r) => r.value === input.value && !r.hasAttribute("data-empty"));
      if (own) own.checked = true;
    }
  });
}

const form = document.querySelector("[data-merge-form]");
if (form) initMergeForm(form);
