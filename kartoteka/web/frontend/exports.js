// The export menu: its links carry the view, filter and sort of the page when it was
// rendered; the grid changes them in the address bar without a reload, so each link
// takes them from there when it is followed.
const STATE = ["view", "filter", "sort"];

document.addEventListener("click", (e) => {
  const link = e.target.closest && e.target.closest("a[data-export]");
  if (!link) return;
  const here = new URLSearchParams(window.location.search);
  const url = new URL(link.href, window.location.href);
  for (const key of STATE) {
    if (here.get(key)) url.searchParams.set(key, here.get(key));
    else url.searchParams.delete(key);
  }
  link.href = url.toString();
  link.closest("details")?.removeAttribute("open");
});
