// Shared bits of the page: the UI strings block, the page's language, toasts,
// escaping, value formatting in the reader's language and the workspace time zone.
let cached = null;

function config() {
  if (!cached) {
    const block = document.getElementById("ui-config");
    cached = block ? JSON.parse(block.textContent) : { strings: {}, codes: {} };
  }
  return cached;
}

export function strings() {
  return config().strings;
}

export function uiConfig() {
  return config();
}

/** The page's language: the API is asked for its messages in it (Accept-Language). */
export function pageLang() {
  return document.documentElement.lang || "en";
}

/** The message for an API error code when the server's text is too technical. */
export function codeMessage(error) {
  const known = config().codes || {};
  if (error && error.code === "VALIDATION") return error.explain();
  if (error && error.code === "REJECTED") return error.message;
  return (error && known[error.code]) || (error && error.message) || strings().error;
}

export function escapeHtml(value) {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export function toast(message, kind = "ok") {
  const host = document.querySelector(".toasts");
  if (!host) return;
  const item = document.createElement("div");
  item.className = `toast ${kind}`;
  item.textContent = message;
  if (kind === "error") item.setAttribute("role", "alert");
  host.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 7000 : 2500);
}

const lang = () => document.documentElement.lang || "en";

/** A number in the page's locale; `format` is the field's: grouped (default), plain or percent. */
export function formatNumber(value, decimals, format) {
  if (value === null || value === undefined || value === "") return "";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  const opts = decimals == null ? {} : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
  if (format === "plain") opts.useGrouping = false;
  const text = new Intl.NumberFormat(lang(), opts).format(n);
  return format === "percent" ? `${text}\u00a0%` : text;
}

export function formatMoney(value, decimals, currency) {
  const text = formatNumber(value, decimals ?? 2);
  return text && currency ? `${text} ${currency}` : text;
}

export function formatDate(value) {
  if (!value) return "";
  const [y, m, d] = String(value).split("-").map(Number);
  if (!y || !m || !d) return String(value);
  return new Intl.DateTimeFormat(lang(), { timeZone: "UTC", dateStyle: "medium" }).format(Date.UTC(y, m - 1, d));
}

export function formatDateTime(value) {
  if (!value) return "";
  const when = new Date(value);
  if (Number.isNaN(when.getTime())) return String(value);
  const tz = config().timezone || undefined;
  return new Intl.DateTimeFormat(lang(), { timeZone: tz, dateStyle: "medium", timeStyle: "short" }).format(when);
}

export function formatPhone(value) {
  const text = String(value || "");
  const ru = text.match(/^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/);
  if (ru) return `+7 ${ru[1]} ${ru[2]}-${ru[3]}-${ru[4]}`;
  return text;
}

/** A value as plain text (lists joined), for cells, cards and boards. */
export function valueText(field, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return "";
  if (Array.isArray(value)) return value.map((v) => valueText(field, v)).join(", ");
  if (typeof value === "object") return String(value.label ?? value.title ?? value.name ?? value.id ?? "");
  if (typeof value === "boolean") return value ? strings().yes : strings().no;
  if (field.masked) return String(value);
  switch (field.type) {
    case "money":
      return formatMoney(value, field.decimals, field.currency);
    case "number":
      return formatNumber(value, field.decimals, field.format);
    case "date":
      return formatDate(value);
    case "datetime":
    case "created_at":
    case "updated_at":
      return formatDateTime(value);
    case "phone":
      return formatPhone(value);
    default:
      return String(value);
  }
}

/** A value as HTML (select choices as coloured chips); everything escaped. */
export function valueHtml(field, value) {
  if (field.type === "select" && value) {
    const items = Array.isArray(value) ? value : [value];
    return items
      .map((c) => `<span class="chip c-${escapeHtml(c.color || "gray")}">${escapeHtml(c.label)}</span>`)
      .join(" ");
  }
  if (field.type === "checkbox") return value ? "✓" : "";
  return escapeHtml(valueText(field, value));
}

/** Buttons `data-copy="<selector>"` copy that input's value and say `data-copied`. */
export function copyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.querySelector(button.dataset.copy);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (_) {
        document.execCommand("copy");
      }
      button.textContent = button.dataset.copied;
      toast(button.dataset.copied);
    });
  }
}
