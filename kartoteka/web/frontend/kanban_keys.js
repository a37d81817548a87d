// The kanban with the keyboard: the focused card moves to the column on its left or right
// with Alt+← / Alt+→, or to any column from its "Move to…" menu (M, the menu key or
// Shift+F10). A stage process holds as for a drag: a move it refuses leaves the card
// where it is and says why; a stage that needs fields opens the card with them marked.
// Saving is board.js's (`api`: its refusal, saveMove, putBack and movesOf).
import { strings } from "./ui.js";

const columnsOf = (board) => [...board.querySelectorAll(".kanban-col")];
const labelOf = (col) => (col.querySelector("h2")?.textContent || "").trim();
const titleOf = (item) => (item.querySelector(".title")?.textContent || "").trim();

function flash(item) {
  item.classList.add("refused");
  setTimeout(() => item.classList.remove("refused"), 2500);
}

/** Move the card into column `col` (on top), unless the process refuses; focus stays on it. */
async function moveCard(board, item, col, api) {
  const key = col.dataset.key;
  if (api.refusal(board, item, key)) {
    flash(item);
    item.focus();
    return;
  }
  const from = item.parentElement;
  const index = [...from.children].indexOf(item);
  col.querySelector("[data-cards]").prepend(item);
  item.focus();
  await api.saveMove(board, item, key, () => {
    api.putBack(board, item, from, index);
    item.focus();
  });
}

let open = null;

function closeMenu(refocus) {
  if (!open) return;
  const { menu, item } = open;
  open = null;
  menu.remove();
  document.removeEventListener("pointerdown", outside, true);
  if (refocus) item.focus();
}

function outside(e) {
  if (open && !open.menu.contains(e.target)) closeMenu(false);
}

function openMenu(board, item, api) {
  closeMenu(false);
  const here = item.closest(".kanban-col");
  const moves = api.movesOf(item);
  const s = strings();
  const menu = document.createElement("div");
  menu.className = "card-move-menu";
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", (s.move_card || "Move “%(title)s” to").replace("%(title)s", titleOf(item)));
  menu.dataset.moveMenu = item.dataset.id;
  for (const col of columnsOf(board)) {
    if (col === here) continue;
    const rule = moves[col.dataset.key];
    const button = document.createElement("button");
    button.type = "button";
    button.tabIndex = -1;
    button.setAttribute("role", "menuitem");
    button.dataset.moveTo = col.dataset.key;
    const name = document.createElement("span");
    name.textContent = labelOf(col);
    button.append(name);
    if (rule) {
      // Why the process refuses (or what the stage needs): read with the item.
      const why = document.createElement("span");
      why.className = "small why";
      why.textContent = rule.reason;
      button.append(why);
      if (rule.blocked) {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("forbidden");
      }
    }
    button.addEventListener("click", () => {
      closeMenu(false);
      moveCard(board, item, col, api);
    });
    menu.append(button);
  }
  if (!menu.children.length) return;
  menu.addEventListener("keydown", (e) => {
    const items = [...menu.querySelectorAll("[role=menuitem]")];
    const at = items.indexOf(document.activeElement);
    let next = null;
    if (e.key === "ArrowDown") next = items[(at + 1) % items.length];
    else if (e.key === "ArrowUp") next = items[(at - 1 + items.length) % items.length];
    else if (e.key === "Home") next = items[0];
    else if (e.key === "End") next = items[items.length - 1];
    else if (e.key === "Escape" || e.key === "Tab") {
      e.preventDefault();
      closeMenu(true);
      return;
    }
    if (next) {
      e.preventDefault();
      next.focus();
    }
  });
  document.body.append(menu);
  const box = item.getBoundingClientRect();
  const left = Math.max(8, Math.min(box.left, window.innerWidth - menu.offsetWidth - 8));
  menu.style.top = `${box.bottom + window.scrollY + 4}px`;
  menu.style.left = `${left + window.scrollX}px`;
  open = { menu, item };
  document.addEventListener("pointerdown", outside, true);
  menu.querySelector("[role=menuitem]").focus();
}

/** Keyboard moves on the board's cards (delegated: the board may be redrawn). */
export function cardKeys(board, api) {
  for (const item of board.querySelectorAll(".board-card")) {
    item.setAttribute("aria-keyshortcuts", "Alt+ArrowLeft Alt+ArrowRight M");
  }
  board.addEventListener("keydown", (e) => {
    const item = e.target.closest?.(".board-card");
    if (!item || e.ctrlKey || e.metaKey) return;
    const cols = columnsOf(board);
    const at = cols.indexOf(item.closest(".kanban-col"));
    if (e.altKey && (e.key === "ArrowLeft" || e.key === "ArrowRight")) {
      // Not the browser's back/forward: the card moves.
      e.preventDefault();
      const col = cols[at + (e.key === "ArrowLeft" ? -1 : 1)];
      if (col) moveCard(board, item, col, api);
      return;
    }
    const menuKey = e.key === "ContextMenu" || (e.shiftKey && e.key === "F10") || (!e.altKey && !e.shiftKey && (e.key === "m" || e.key === "M"));
    if (menuKey) {
      e.preventDefault();
      openMenu(board, item, api);
    }
  });
}
