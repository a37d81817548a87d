// What the user typed into a number or amount input, as the API's plain "-1234.56".
// The same rules as kartoteka/web/amounts.py, which reads the card when it is saved:
// "1 234,56" in Russian, "1,234.56" in English, a bare "1234.56" in both. Both are held
// to one table of cases, tests/data/amount_cases.json (tests/web/test_amounts.py runs it
// through the Python, tests/web/test_browser_amounts.py through this module in chromium).
const DECIMAL = { ru: ",", en: "." };
const GROUP = { ru: "\u00a0", en: "," };
// Longer than any amount the field types store; past it, the text is not an amount.
const MAX_LENGTH = 40;
const NOT_A_NUMBER = { refused: "amount_not_number" };
// What Python's str.strip() takes off the ends (amounts.py): String.prototype.trim also
// takes a byte-order mark, and leaves the information separators \x1c-\x1f and NEL.
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const ENDS = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, "g");

function decimalMark(body, lang) {
  const commas = body.split(",").length - 1;
  const points = body.split(".").length - 1;
  if (commas && points) return body.lastIndexOf(",") > body.lastIndexOf(".") ? "," : ".";
  if (!commas && !points) return null;
  const mark = commas ? "," : ".";
  const language = lang in DECIMAL ? lang : "en";
  if (mark === DECIMAL[language]) return mark;
  // A point typed in Russian is a decimal point once (a keypad's), grouping when repeated.
  if (mark === GROUP[language] || commas + points > 1) return null;
  return mark;
}

// [whole digits without their grouping, digits after the separator], or null: no number.
function split(body, lang) {
  const point = decimalMark(body, lang);
  const at = point ? body.lastIndexOf(point) : body.length;
  let whole = body.slice(0, at);
  const fraction = point ? body.slice(at + 1) : "";
  // The other mark groups thousands, and must do it properly: "1,23.4" is no amount.
  const group = point ? (point === "," ? "." : ",") : body.includes(",") ? "," : ".";
  if (whole.includes(group)) {
    if (!new RegExp(`^[0-9]{1,3}(?:\\${group}[0-9]{3})+$`).test(whole)) return null;
    whole = whole.split(group).join("");
  }
  if (!(whole || fraction) || !/^[0-9]*$/.test(whole) || !/^[0-9]*$/.test(fraction)) return null;
  return [whole, fraction];
}

/**
 * What `text` typed in `lang` reads as: {value: "-1234.56"}, {value: null} when nothing is
 * typed, or {refused: "amount_not_number"} ("amount_decimals" when it has more than
 * `decimals` digits after the separator) — the codes amounts.py raises.
 */
export function readAmount(text, lang, decimals = null) {
  const compact = text.replace(ENDS, "").replace(/[ \u00a0\u202f\u2009]/g, "");
  if (!compact) return { value: null };
  const sign = compact[0] === "-" || compact[0] === "\u2212" ? "-" : "";
  const body = sign || compact[0] === "+" ? compact.slice(1) : compact;
  if (body.length > MAX_LENGTH) return NOT_A_NUMBER;
  const parts = split(body, lang);
  if (!parts) return NOT_A_NUMBER;
  const [whole, fraction] = parts;
  if (decimals !== null && fraction.replace(/0+$/, "").length > decimals) return { refused: "amount_decimals" };
  // Leading zeros say nothing ("007" is 7), as Decimal("007") in amounts.py.
  const digits = whole.replace(/^0+(?=[0-9])/, "") || "0";
  return { value: `${sign}${digits}${fraction ? `.${fraction}` : ""}` };
}

/** The API's plain number for what was typed; text that is none comes back as typed (the
 * save says what is wrong with it). */
export function plainAmount(text, lang) {
  return readAmount(text, lang).value ?? text;
}
