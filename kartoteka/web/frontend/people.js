// The people, rights and settings pages: copy buttons, the user form's small helpers.
import "./people.css";
import { strings, toast } from "./ui.js";

function copyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      const text = source ? (source.value ?? source.textContent).trim() : "";
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        // Without clipboard access (plain http), select the text so Ctrl+C copies it.
        if (source && source.select) source.select();
        return;
      }
      toast(strings().copied || "Copied");
    });
  }
}

function signInChoice() {
  const box = document.querySelector("[data-how-password]");
  if (!box) return;
  const sync = () => {
    const chosen = document.querySelector("[data-how]:checked");
    box.hidden = !chosen || chosen.value !== "password";
  };
  for (const radio of document.querySelectorAll("[data-how]")) radio.addEventListener("change", sync);
  sync();
}

copyButtons();
signInChoice();
