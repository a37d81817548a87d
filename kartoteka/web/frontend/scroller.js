// A row that scrolls sideways (tabs; the administration sections on a phone): the current
// entry is brought into view, and a fade on either edge says more entries hide there.
function initScroller(row) {
  const mark = () => {
    const end = row.scrollWidth - row.clientWidth;
    row.toggleAttribute("data-more-before", row.scrollLeft > 2);
    row.toggleAttribute("data-more-after", end - row.scrollLeft > 2);
  };
  const current = row.querySelector(".active");
  if (current && row.scrollWidth > row.clientWidth) {
    const left = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
    row.scrollLeft = Math.max(0, left - row.offsetLeft);
  }
  mark();
  row.addEventListener("scroll", mark, { passive: true });
  window.addEventListener("resize", mark);
}

for (const row of document.querySelectorAll("[data-scroller]")) initScroller(row);
