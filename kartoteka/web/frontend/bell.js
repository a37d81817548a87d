// The top bar's bell: the unread count, kept live by the SSE feed's "notice" events
// (the server sends each user only their own counts), and a panel with the latest
// notices that opens on click or Enter/Space and closes on Escape or a click outside.
// Marking read goes through the REST API; without scripts the bell is a link.
import { api, apiBase, csrfToken } from "./api.js";
import { onFeed } from "./live.js";
import { codeMessage, toast } from "./ui.js";

function setCount(bell, unread) {
  const count = bell.querySelector("[data-bell-count]");
  const button = bell.querySelector(".bell-button");
  count.textContent = unread > 99 ? "99+" : String(unread);
  count.hidden = unread <= 0;
  const label = unread > 0 ? `${button.dataset.labelUnread} ${unread}` : button.dataset.label;
  button.setAttribute("aria-label", label);
}

async function loadPanel(bell) {
  const panel = bell.querySelector(".bell-panel");
  try {
    const response = await fetch(bell.dataset.panelUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    panel.innerHTML = await response.text();
  } catch (_) {
    return;
  }
  const list = panel.querySelector("[data-unread]");
  if (list) setCount(bell, Number(list.dataset.unread) || 0);
}

function setOpen(bell, open) {
  const button = bell.querySelector(".bell-button");
  const panel = bell.querySelector(".bell-panel");
  panel.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
  bell.classList.toggle("open", open);
  if (open) loadPanel(bell);
}

async function markRead(bell, target) {
  try {
    if (target.dataset.noticeRead) {
      await api("POST", `notices/${encodeURIComponent(target.dataset.noticeRead)}/read`);
    } else {
      await api("POST", "notices/read");
    }
  } catch (error) {
    toast(codeMessage(error), "error");
    return;
  }
  await loadPanel(bell);
  bell.querySelector(".bell-panel a, .bell-panel button")?.focus();
}

function init(bell) {
  const button = bell.querySelector(".bell-button");
  const panel = bell.querySelector(".bell-panel");
  const announce = bell.querySelector("[data-bell-announce]");
  const toggle = (e) => {
    e.preventDefault();
    setOpen(bell, panel.hidden);
  };
  button.addEventListener("click", toggle);
  button.addEventListener("keydown", (e) => {
    if (e.key === " ") toggle(e);
  });
  panel.addEventListener("click", (e) => {
    // Opening the record a notice is about reads it: marked on the way (keepalive, so
    // the navigation does not cancel it).
    const open = e.target.closest(".notice.unread .notice-title a");
    if (open) {
      const id = open.closest("[data-notice]").dataset.notice;
      fetch(`${apiBase()}/notices/${encodeURIComponent(id)}/read`, {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken() },
        credentials: "same-origin",
        keepalive: true,
      }).catch(() => {});
      return;
    }
    const target = e.target.closest("[data-notice-read], [data-notice-read-all]");
    if (!target) return;
    e.preventDefault();
    markRead(bell, target);
  });
  document.addEventListener("click", (e) => {
    if (!panel.hidden && !bell.contains(e.target)) setOpen(bell, false);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) {
      setOpen(bell, false);
      button.focus();
    }
  });
  onFeed("notice", (data) => {
    setCount(bell, Number(data.unread) || 0);
    if (data.new) announce.textContent = `${button.dataset.labelUnread} ${data.unread}`;
    if (!panel.hidden) loadPanel(bell);
  });
}

const bell = document.querySelector("[data-bell]");
if (bell) init(bell);
