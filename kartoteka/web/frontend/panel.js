// The side panel: a record's card opened from any view without leaving it. The card
// keeps its own URL (the "open full page" link); Esc closes the panel and focus returns
// to what opened it.
import { initCard } from "./card.js";
import { strings, toast } from "./ui.js";

let opener = null;

function panel() {
  return document.getElementById("panel");
}

export async function openPanel(url) {
  const el = panel();
  if (!el) {
    window.location.href = url;
    return;
  }
  opener = document.activeElement;
  const body = el.querySelector("[data-panel-body]");
  const target = new URL(url, window.location.href);
  target.searchParams.set("panel", "1");
  body.setAttribute("aria-busy", "true");
  el.hidden = false;
  document.body.classList.add("panel-open");
  let response;
  try {
    response = await fetch(target, { headers: { Accept: "text/html" }, credentials: "same-origin" });
  } catch (_) {
    toast(strings().network, "error");
    return;
  }
  if (response.redirected && new URL(response.url).pathname.endsWith("/login")) {
    window.location.href = response.url;
    return;
  }
  body.innerHTML = await response.text();
  body.removeAttribute("aria-busy");
  el.querySelector("[data-panel-full]").href = url;
  initCard(body.querySelector("[data-card]"), { inPanel: true });
  (body.querySelector("h1") || body).setAttribute("tabindex", "-1");
  (body.querySelector("h1") || body).focus();
}

export function closePanel() {
  const el = panel();
  if (!el || el.hidden) return;
  el.hidden = true;
  document.body.classList.remove("panel-open");
  el.querySelector("[data-panel-body]").replaceChildren();
  if (opener && document.contains(opener)) opener.focus();
  opener = null;
}

export function reloadPanel() {
  const el = panel();
  const card = el && el.querySelector("[data-card]");
  if (card) openPanel(card.dataset.url);
}

document.addEventListener("click", (e) => {
  const trigger = e.target.closest("a[data-open-panel], a[data-open-record]");
  if (trigger && trigger.closest("[data-dragging]")) {
    e.preventDefault(); // the end of a drag on a board, not a click on the card
    return;
  }
  if (trigger && panel() && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
    if (trigger.closest(".tabulator")) return; // the grid opens it itself
    e.preventDefault();
    openPanel(trigger.href);
  }
  if (e.target.closest("[data-panel-close]")) closePanel();
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && panel() && !panel().hidden && !document.querySelector("dialog[open]")) closePanel();
});
