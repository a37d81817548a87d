// Every page: htmx for partial updates. Widgets live in their own modules (grid.js,
// card.js, board.js) that pages load when they show one.
import htmx from "htmx.org";

window.htmx = htmx;
