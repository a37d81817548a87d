// Every page: htmx for partial updates, the sidebar (collapsible sections remembered in
// localStorage, a drawer on phones), the side panel, and a plain full-page card.
import htmx from "htmx.org";
import { initCard } from "./card.js";
import "./panel.js";
import "./exports.js";
import "./bell.js";
import "./scroller.js";
import "./merge.js";

window.htmx = htmx;

const STORE = "kartoteka.sidebar";

function sidebar() {
  const nav = document.getElementById("sidebar");
  if (!nav) return;
  let closed = {};
  try {
    closed = JSON.parse(localStorage.getItem(STORE) || "{}");
  } catch (_) {
    closed = {};
  }
  for (const section of nav.querySelectorAll("details[data-section]")) {
    if (closed[section.dataset.section]) section.open = false;
    section.addEventListener("toggle", () => {
      closed[section.dataset.section] = !section.open;
      localStorage.setItem(STORE, JSON.stringify(closed));
    });
  }
  const toggle = document.querySelector("[data-toggle-sidebar]");
  toggle?.addEventListener("click", () => {
    const open = !document.body.classList.contains("drawer-open");
    document.body.classList.toggle("drawer-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) nav.querySelector("a")?.focus();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("drawer-open")) {
      document.body.classList.remove("drawer-open");
      toggle?.setAttribute("aria-expanded", "false");
      toggle?.focus();
    }
  });
}

sidebar();
const pageCard = document.querySelector(".page-card [data-card]");
if (pageCard) initCard(pageCard, { inPanel: false });
