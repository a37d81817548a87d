// What the user typed into a number or amount input, as the API's plain "-1234.56".
// The same rules as kartoteka/web/amounts.py, which reads the card when it is saved:
// "1 234,56" in Russian, "1,234.56" in English, a bare "1234.56" in both. Text that is no
// number comes back as typed (the save says what is wrong with it).
const DECIMAL = { ru: ",", en: "." };
const GROUP = { ru: "\u00a0", en: "," };

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

export function plainAmount(text, lang) {
  let body = text.trim().replace(/[ \u00a0\u202f\u2009]/g, "");
  if (!body) return text;
  const sign = body[0] === "-" || body[0] === "\u2212" ? "-" : "";
  if (sign || body[0] === "+") body = body.slice(1);
  const point = decimalMark(body, lang);
  const at = point ? body.lastIndexOf(point) : body.length;
  let whole = body.slice(0, at);
  const fraction = point ? body.slice(at + 1) : "";
  const group = point ? (point === "," ? "." : ",") : body.includes(",") ? "," : ".";
  if (whole.includes(group)) {
    if (!new RegExp(`^[0-9]{1,3}(?:\\${group}[0-9]{3})+$`).test(whole)) return text;
    whole = whole.split(group).join("");
  }
  if (!(whole || fraction) || !/^[0-9]*$/.test(whole) || !/^[0-9]*$/.test(fraction)) return text;
  return `${sign}${whole || "0"}${fraction ? `.${fraction}` : ""}`;
}
