// The catalog's API page: switch the examples between curl and Python (a tab list with
// arrow keys), and copy a code block with one click.
function tabs() {
  const list = document.querySelector(".code-tabs");
  if (!list) return;
  const buttons = [...list.querySelectorAll("[data-code-lang]")];
  const choose = (button, focus) => {
    for (const b of buttons) {
      const on = b === button;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    for (const block of document.querySelectorAll(".api-op [data-lang]")) block.hidden = block.dataset.lang !== button.dataset.codeLang;
    if (focus) button.focus();
    try {
      localStorage.setItem("kartoteka.apidoc.lang", button.dataset.codeLang);
    } catch (_) {
      /* private mode: the choice is simply not remembered */
    }
  };
  for (const b of buttons) {
    b.addEventListener("click", () => choose(b, false));
    b.addEventListener("keydown", (e) => {
      const at = buttons.indexOf(b);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: buttons.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      choose(buttons[(next + buttons.length) % buttons.length], true);
    });
  }
  let saved = null;
  try {
    saved = localStorage.getItem("kartoteka.apidoc.lang");
  } catch (_) {
    saved = null;
  }
  const start = buttons.find((b) => b.dataset.codeLang === saved);
  if (start) choose(start, false);
}

function copying() {
  const status = document.querySelector("[data-copy-status]");
  document.addEventListener("click", async (e) => {
    const button = e.target.closest("[data-copy-code]");
    if (!button) return;
    const text = button.parentElement.querySelector("pre").innerText;
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.textContent;
    button.textContent = status.dataset.copied;
    status.textContent = status.dataset.copied;
    setTimeout(() => {
      button.textContent = label;
      status.textContent = "";
    }, 1500);
  });
}

tabs();
copying();
