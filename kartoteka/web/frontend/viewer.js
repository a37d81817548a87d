// A full-screen image viewer: arrows move through the record's images, Esc closes.
import { escapeHtml, strings } from "./ui.js";

export function openViewer(images, start) {
  if (!images.length) return;
  let at = Math.max(0, start);
  const dialog = document.createElement("dialog");
  dialog.className = "viewer";
  dialog.setAttribute("aria-label", images[at].alt || "");
  dialog.innerHTML = `<figure><img alt=""><figcaption></figcaption></figure>
    <button type="button" class="icon prev"><span aria-hidden="true">‹</span><span class="sr-only">←</span></button>
    <button type="button" class="icon next"><span aria-hidden="true">›</span><span class="sr-only">→</span></button>
    <button type="button" class="icon close"><span aria-hidden="true">✕</span><span class="sr-only">${escapeHtml(strings().close)}</span></button>`;
  const img = dialog.querySelector("img");
  const caption = dialog.querySelector("figcaption");
  const show = () => {
    img.src = images[at].src;
    img.alt = images[at].alt;
    caption.textContent = `${images[at].alt} (${at + 1}/${images.length})`;
  };
  const move = (step) => {
    at = (at + step + images.length) % images.length;
    show();
  };
  dialog.querySelector(".prev").addEventListener("click", () => move(-1));
  dialog.querySelector(".next").addEventListener("click", () => move(1));
  dialog.querySelector(".close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") move(-1);
    if (e.key === "ArrowRight") move(1);
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  show();
  dialog.showModal();
  dialog.querySelector(".close").focus();
}
