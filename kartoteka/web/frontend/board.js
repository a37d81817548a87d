// Boards: kanban (drag a card to another column to change the group field, or move the
// focused card with the keyboard: kanban_keys.js), calendar
// (drag to another day to reschedule) and Gantt (drag a bar to move it, its ends to
// resize). Every move is saved at once through the API; a refused move (rights,
// validation, a request webhook's veto) snaps back and shows the server's message.
import Sortable from "sortablejs";
import { api } from "./api.js";
import { follow } from "./live.js";
import { cardKeys } from "./kanban_keys.js";
import { codeMessage, formatDate, formatMoney, formatNumber, strings, toast } from "./ui.js";

const cfg = JSON.parse(document.getElementById("grid-config")?.textContent || "{}");
const fields = Object.fromEntries((cfg.fields || []).map((f) => [f.api_name, f]));

function formatValues(root) {
  root.querySelectorAll("[data-format][data-raw]").forEach((el) => {
    const raw = el.dataset.raw;
    if (raw === "") return;
    const type = el.dataset.format;
    const field = Object.values(fields).find((f) => f.type === type) || {};
    if (type === "money") el.textContent = formatMoney(raw, field.decimals, field.currency);
    else if (type === "number") el.textContent = formatNumber(raw, field.decimals, field.format);
    else if (type === "date") el.textContent = formatDate(raw);
  });
}

async function patch(id, values) {
  return api("PATCH", `${cfg.api}/records/${id}`, { values });
}

function recount(board) {
  board.querySelectorAll(".kanban-col").forEach((col) => {
    const count = col.querySelector("[data-count]");
    if (count) count.textContent = String(col.querySelectorAll(".board-card").length);
  });
}

/** A card's process moves: column key -> {reason, blocked?, need?} (none: no process). */
function movesOf(item) {
  try {
    return JSON.parse(item.dataset.moves || "{}");
  } catch (_) {
    return {};
  }
}

/** While a card is dragged, the columns its process forbids are dimmed and disabled. */
function markColumns(board, item, on) {
  const moves = on ? movesOf(item) : {};
  board.querySelectorAll(".kanban-col").forEach((col) => {
    const blocked = Boolean(moves[col.dataset.key]?.blocked);
    col.classList.toggle("forbidden", blocked);
    if (blocked) {
      col.setAttribute("aria-disabled", "true");
      col.title = moves[col.dataset.key].reason;
    } else {
      col.removeAttribute("aria-disabled");
      col.removeAttribute("title");
    }
  });
}

/** Put a refused card back where it was (the list and place it was in) and mark it. */
function putBack(board, item, from, index) {
  from.insertBefore(item, from.children[index] || null);
  recount(board);
  item.classList.add("refused");
  setTimeout(() => item.classList.remove("refused"), 2500);
}

/** The stage needs fields: open the card with them marked and the stage chosen. */
async function openToFill(item, group, key, need) {
  const url = new URL(item.href, window.location.href);
  url.searchParams.set("need", need.join(","));
  url.searchParams.set(`f.${group}`, key);
  (await import("./panel.js")).openPanel(url.pathname + url.search);
}

/** What the process says of moving the card to column `key`: null when it may go, or
 *  the refusal (shown, and the card opened for the fields a stage needs). */
function refusal(board, item, key) {
  const rule = movesOf(item)[key];
  if (!rule || !(rule.blocked || rule.need)) return null;
  toast(rule.reason, "error");
  if (rule.need) openToFill(item, board.dataset.group, key, rule.need);
  return rule;
}

/** Save a card's move to the column `key` (the page shows it there already); `back` puts
 *  it back when the process or the server refuses, and the reason is shown. */
async function saveMove(board, item, key, back) {
  if (refusal(board, item, key)) {
    back();
    return false;
  }
  const group = board.dataset.group;
  let value = key === "" ? null : Number(key);
  if (board.dataset.groupType === "checkbox") value = key === "true";
  item.dataset.saving = "1";
  try {
    await patch(item.dataset.id, { [group]: value });
    recount(board);
    toast(strings().moved);
    if (item.dataset.moves !== undefined) await refreshMoves(item);
    return true;
  } catch (err) {
    back();
    toast(err.code === "VALIDATION" ? err.explain(group) : codeMessage(err), "error");
    return false;
  } finally {
    delete item.dataset.saving;
  }
}

/** After a move the card's process moves are its new stage's: read them from the page
 *  anew (a move checked against the old ones would be refused by the server anyway). */
async function refreshMoves(item) {
  try {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector(`.board-card[data-id="${item.dataset.id}"]`);
    if (fresh && fresh.dataset.moves !== undefined) item.dataset.moves = fresh.dataset.moves;
  } catch (_) {
    // Offline a moment: the server still checks the next move.
  }
}

function kanban(board) {
  board.querySelectorAll("[data-cards]").forEach((list) => {
    Sortable.create(list, {
      group: "kanban",
      animation: 150,
      draggable: ".board-card",
      onStart: (e) => {
        board.setAttribute("data-dragging", "1");
        markColumns(board, e.item, true);
      },
      onEnd: async (e) => {
        setTimeout(() => board.removeAttribute("data-dragging"), 0);
        markColumns(board, e.item, false);
        if (e.from === e.to) return;
        const key = e.to.closest(".kanban-col").dataset.key;
        await saveMove(board, e.item, key, () => putBack(board, e.item, e.from, e.oldIndex));
      },
    });
  });
  // The keyboard: Alt+←/→ to the next column, M (or the menu key) for "Move to…".
  cardKeys(board, { refusal, saveMove, putBack, movesOf });
}

function calendar(grid) {
  const field = grid.dataset.field;
  const isDateTime = grid.dataset.type === "datetime";
  grid.querySelectorAll("[data-cards]").forEach((list) => {
    Sortable.create(list, {
      group: "calendar",
      animation: 150,
      draggable: ".cal-item",
      onStart: () => grid.setAttribute("data-dragging", "1"),
      onEnd: async (e) => {
        setTimeout(() => grid.removeAttribute("data-dragging"), 0);
        if (e.from === e.to) return;
        const slot = e.to.closest("[data-day]");
        const day = slot.dataset.day;
        let value = day;
        let time = null;
        if (isDateTime) {
          // Wall-clock time without an offset: the server reads it in the workspace's
          // zone, the zone the calendar is drawn in (the browser's may differ). The week
          // and day views move to the slot's hour and keep the minutes.
          time = e.item.dataset.time || "09:00";
          if (slot.dataset.hour != null) time = `${slot.dataset.hour.padStart(2, "0")}:${time.slice(3, 5)}`;
          value = `${day}T${time}`;
        }
        try {
          const record = await patch(e.item.dataset.id, { [field]: value });
          e.item.dataset.value = record.values[field];
          if (time) {
            e.item.dataset.time = time;
            const shown = e.item.querySelector("time");
            if (shown) shown.textContent = time;
          }
          toast(strings().moved);
        } catch (err) {
          e.from.insertBefore(e.item, e.from.children[e.oldIndex] || null);
          toast(err.code === "VALIDATION" ? err.explain(field) : codeMessage(err), "error");
        }
      },
    });
  });
}

/** The week and day views open at the working day's start, not at midnight. */
function scrollToMorning(grid) {
  const hours = grid.querySelector("[data-cal-hours]");
  const row = grid.querySelector('[data-hour-row="8"]');
  if (hours && row) hours.scrollTop = row.offsetTop - hours.offsetTop;
}

function addDays(iso, n) {
  const [y, m, d] = iso.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

const SVG = "http://www.w3.org/2000/svg";

/** Dependency arrows: from the end of each bar a bar waits for to the bar's start; red
 * when the one waited for ends on or after the day the other starts. */
function drawLinks(chart) {
  chart.querySelector(".gantt-links")?.remove();
  const bars = [...chart.querySelectorAll(".gantt-bar[data-deps]")];
  if (!bars.length) return;
  const svg = document.createElementNS(SVG, "svg");
  svg.classList.add("gantt-links");
  svg.setAttribute("aria-hidden", "true");
  const box = chart.getBoundingClientRect();
  svg.setAttribute("width", String(chart.scrollWidth));
  svg.setAttribute("height", String(chart.scrollHeight));
  svg.innerHTML = '<defs><marker id="gantt-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>';
  const at = (el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left - box.left + chart.scrollLeft, right: r.right - box.left + chart.scrollLeft, mid: r.top - box.top + chart.scrollTop + r.height / 2 };
  };
  for (const bar of bars) {
    const to = at(bar);
    for (const id of bar.dataset.deps.split(" ")) {
      const dep = chart.querySelector(`.gantt-bar[data-id="${id}"]`);
      if (!dep) continue;
      const from = at(dep);
      const late = Number(dep.dataset.col) + Number(dep.dataset.span) > Number(bar.dataset.col);
      const bend = Math.max(from.right + 8, Math.min(to.left - 8, from.right + 8));
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", `M${from.right},${from.mid} H${bend} V${to.mid} H${to.left - 2}`);
      path.setAttribute("marker-end", "url(#gantt-arrow)");
      path.classList.toggle("late", late);
      path.dataset.from = id;
      path.dataset.to = bar.dataset.id;
      svg.appendChild(path);
    }
  }
  chart.appendChild(svg);
}

function gantt(chart) {
  const days = Number(chart.dataset.days);
  const first = chart.dataset.first;
  const start = chart.dataset.start;
  const end = chart.dataset.end;
  const place = (bar) => {
    const col = Number(bar.dataset.col);
    const span = Number(bar.dataset.span);
    const from = Math.max(1, col);
    const to = Math.min(days + 1, col + span);
    bar.style.gridColumn = `${from} / ${Math.max(from + 1, to)}`;
    bar.classList.toggle("cut-start", col < 1);
    bar.classList.toggle("cut-end", col + span > days + 1);
  };
  const redraw = () => requestAnimationFrame(() => drawLinks(chart));
  chart.querySelectorAll(".gantt-bar").forEach((bar) => {
    place(bar);
    bar.addEventListener("pointerdown", (e) => {
      const track = bar.parentElement;
      const dayWidth = track.getBoundingClientRect().width / days;
      const mode = e.target.classList.contains("start") ? "start" : e.target.classList.contains("end") ? "end" : "move";
      const col0 = Number(bar.dataset.col);
      const span0 = Number(bar.dataset.span);
      const x0 = e.clientX;
      bar.setPointerCapture(e.pointerId);
      const moveTo = (ev) => {
        const shift = Math.round((ev.clientX - x0) / dayWidth);
        if (mode === "move") bar.dataset.col = String(col0 + shift);
        if (mode === "start") {
          const s = Math.min(shift, span0 - 1);
          bar.dataset.col = String(col0 + s);
          bar.dataset.span = String(span0 - s);
        }
        if (mode === "end") bar.dataset.span = String(Math.max(1, span0 + shift));
        place(bar);
        redraw();
      };
      const done = async () => {
        bar.removeEventListener("pointermove", moveTo);
        bar.removeEventListener("pointerup", done);
        const col = Number(bar.dataset.col);
        const span = Number(bar.dataset.span);
        if (col === col0 && span === span0) return;
        const values = { [start]: addDays(first, col - 1), [end]: addDays(first, col + span - 2) };
        try {
          await patch(bar.dataset.id, values);
          bar.setAttribute("aria-valuetext", `${values[start]} – ${values[end]}${(bar.getAttribute("aria-valuetext").match(/;.*$/) || [""])[0]}`);
          toast(strings().saved);
        } catch (err) {
          bar.dataset.col = String(col0);
          bar.dataset.span = String(span0);
          place(bar);
          redraw();
          toast(codeMessage(err), "error");
        }
      };
      bar.addEventListener("pointermove", moveTo);
      bar.addEventListener("pointerup", done);
    });
    // Arrow keys move the bar a day at a time at once; the move is saved once the keys
    // rest (each press used to save on its own and a quick second press was lost).
    let saved = Number(bar.dataset.col);
    let timer = null;
    bar.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      bar.dataset.col = String(Number(bar.dataset.col) + (e.key === "ArrowLeft" ? -1 : 1));
      place(bar);
      redraw();
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const col = Number(bar.dataset.col);
        const span = Number(bar.dataset.span);
        if (col === saved) return;
        const values = { [start]: addDays(first, col - 1), [end]: addDays(first, col + span - 2) };
        try {
          await patch(bar.dataset.id, values);
          saved = col;
          bar.setAttribute("aria-valuetext", `${values[start]} – ${values[end]}${(bar.getAttribute("aria-valuetext").match(/;.*$/) || [""])[0]}`);
          toast(strings().saved);
        } catch (err) {
          bar.dataset.col = String(saved);
          place(bar);
          redraw();
          toast(codeMessage(err), "error");
        }
      }, 400);
    });
  });
  redraw();
  window.addEventListener("resize", redraw);
}

formatValues(document);
document.querySelectorAll("[data-kanban]").forEach(kanban);
document.querySelectorAll("[data-calendar]").forEach((grid) => {
  calendar(grid);
  scrollToMorning(grid);
});
document.querySelectorAll("[data-gantt]").forEach(gantt);
if (cfg.catalog) {
  // Someone else changed this catalog: refresh the board quietly. Never under the user's
  // hands: while a card is dragged, saved, its move menu or its panel is open, the refresh
  // waits and comes once they are done. That is checked again when the page arrives, as
  // the user may have opened a menu while it was fetched.
  const busy = () => document.querySelector("[data-dragging], [data-move-menu], [data-saving]") || document.body.classList.contains("panel-open");
  let timer = null;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  };
  async function refresh() {
    if (busy()) return later();
    let html;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      html = new DOMParser().parseFromString(await response.text(), "text/html");
    } catch (_) {
      return; // offline for a moment: the next change refreshes it
    }
    if (busy()) return later();
    // A card with the keyboard's focus keeps it on its fresh copy.
    const focused = document.activeElement?.closest?.(".board-card")?.dataset.id;
    for (const sel of ["[data-kanban]", "[data-calendar]", ".gallery", "[data-gantt]"]) {
      const fresh = html.querySelector(sel);
      const old = document.querySelector(sel);
      if (fresh && old) {
        old.replaceWith(fresh);
        formatValues(fresh);
        if (sel === "[data-kanban]") kanban(fresh);
        if (sel === "[data-calendar]") calendar(fresh);
        if (sel === "[data-gantt]") gantt(fresh);
      }
    }
    if (focused) document.querySelector(`[data-kanban] .board-card[data-id="${focused}"]`)?.focus();
  }
  follow(cfg.catalog, later);
}
