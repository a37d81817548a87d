// The import wizard: file -> columns (preview, mapping, how values are read) -> check
// (a dry run of every row) -> import with progress, ETA and cancel -> summary and the
// rows with errors. Everything goes through the importer's REST API, as for any client.
import { ApiError, api } from "./api.js";
import { escapeHtml, toast } from "./ui.js";

const FINISHED = new Set(["done", "failed", "cancelled", "interrupted"]);
const POLL_MS = 400;
const CSV_HEAD_BYTES = 512 * 1024;
const XLSX_MAGIC = [0x50, 0x4b, 0x03, 0x04];

const root = document.querySelector("[data-import-wizard]");
const cfg = root ? JSON.parse(document.getElementById("import-config").textContent) : null;
const s = cfg ? cfg.strings : {};
const $ = (sel) => root.querySelector(sel);

const state = { file: null, xlsx: false, preview: null, job: null, cancelling: false };
/** The record's own dates and authors an administrator may map a column to (keep_stamps). */
const STAMPS = new Set(cfg ? (cfg.stamps || []).map((st) => st.value) : []);
/** Link fields whose missing records the user may create (create_missing). */
const CREATABLE = new Set(cfg ? cfg.create_missing || [] : []);
const MAX_SEPARATOR = 5; // as the importer's options.py accepts

function format(text, params) {
  return text.replace(/%\((\w+)\)s/g, (_, key) => String(params[key] ?? ""));
}

function showStep(name) {
  for (const section of root.querySelectorAll("[data-step]")) section.hidden = section.dataset.step !== name;
  for (const mark of document.querySelectorAll("[data-step-mark]")) {
    if (mark.dataset.stepMark === name) mark.setAttribute("aria-current", "step");
    else mark.removeAttribute("aria-current");
  }
  const heading = root.querySelector(`[data-step="${name}"] h2`);
  heading.tabIndex = -1;
  heading.focus();
}

function fail(where, error) {
  const el = $(where);
  el.textContent = error instanceof ApiError ? error.explain("file") : String(error.message || error);
  el.hidden = false;
}

// ----- step 1: the file -------------------------------------------------------------------
async function isXlsx(file) {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  return XLSX_MAGIC.every((b, i) => head[i] === b);
}

async function chooseFile(file) {
  if (!file) return;
  $("[data-file-error]").hidden = true;
  state.file = file;
  state.xlsx = await isXlsx(file);
  $("[data-sheet]").replaceChildren();
  $("[data-reread=encoding]").value = "";
  $("[data-reread=delimiter]").value = "";
  await readPreview();
}

function readOptions() {
  const out = {};
  if (state.xlsx) {
    // The sheet chosen (by name); none: the one the workbook opens on.
    const sheet = $("[data-sheet]").value;
    if (sheet) out.sheet = sheet;
    return out;
  }
  const encoding = $("[data-reread=encoding]").value;
  const delimiter = $("[data-reread=delimiter]").value;
  if (encoding) out.encoding = encoding;
  if (delimiter) out.delimiter = delimiter;
  return out;
}

/** A workbook's sheets to choose from (shown when it has more than one). */
function renderSheets(p) {
  const row = $("[data-sheet-row]");
  const select = $("[data-sheet]");
  const sheets = p.kind === "xlsx" ? p.sheets || [] : [];
  row.hidden = sheets.length < 2;
  if (row.hidden) {
    select.replaceChildren();
    return;
  }
  const chosen = select.value || p.sheet;
  select.replaceChildren(...sheets.map((name) => new Option(name, name)));
  select.value = sheets.includes(chosen) ? chosen : sheets[0];
}

const DATE_TOKENS = [
  ["yyyy", "%Y"],
  ["yy", "%y"],
  ["dd", "%d"],
  ["mm", "%m"],
  ["hh", "%H"],
  ["mi", "%M"],
  ["ss", "%S"],
];

/** "dd.mm.yyyy hh:mi" as the strptime format the importer takes; null when it names no
 * day, month and year. */
export function dateFormatOf(text) {
  let rest = text.trim().toLowerCase();
  let out = "";
  const seen = new Set();
  while (rest) {
    const hit = DATE_TOKENS.find(([token]) => rest.startsWith(token));
    if (hit) {
      out += hit[1];
      seen.add(hit[1] === "%y" ? "%Y" : hit[1]);
      rest = rest.slice(hit[0].length);
    } else {
      out += rest[0] === "%" ? "%%" : rest[0];
      rest = rest.slice(1);
    }
  }
  return ["%d", "%m", "%Y"].every((t) => seen.has(t)) ? out : null;
}

async function readPreview() {
  $("[data-file-status]").textContent = s.reading;
  const body = new FormData();
  // A CSV's head is enough to look at; a workbook must come whole.
  const part = state.xlsx ? state.file : state.file.slice(0, CSV_HEAD_BYTES);
  body.append("file", part, state.file.name);
  body.append("options", JSON.stringify(readOptions()));
  try {
    state.preview = await api("POST", cfg.preview, body);
  } catch (error) {
    $("[data-file-status]").textContent = "";
    fail("[data-file-error]", error);
    showStep("file");
    return;
  }
  $("[data-file-status]").textContent = "";
  renderColumns();
  showStep("columns");
}

// ----- step 2: columns ----------------------------------------------------------------------
function detectedText(p) {
  if (p.kind === "xlsx") return "Excel (XLSX)";
  const names = { ",": ",", ";": ";", "\t": "Tab", "|": "|" };
  return `CSV · ${p.encoding} · «${names[p.delimiter] || p.delimiter}»`;
}

function renderColumns() {
  const p = state.preview;
  $("[data-file-name]").textContent = state.file.name;
  $("[data-detected]").textContent = detectedText(p);
  for (const sel of root.querySelectorAll("[data-reread]")) sel.closest(".field").hidden = p.kind === "xlsx";
  renderSheets(p);
  $("[data-list-sep-row]").hidden = !p.fields.some((f) => f.type === "link");
  const head = `<thead><tr>${p.headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("")}</tr></thead>`;
  const rows = p.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  $("[data-preview]").innerHTML = `${head}<tbody>${rows}</tbody>`;
  const body = $("[data-mapping] tbody");
  body.replaceChildren();
  p.headers.forEach((header, i) => body.appendChild(mappingRow(p, header, i)));
  refreshKey();
}

function sampleOf(p, i) {
  const found = p.rows.map((r) => r[i]).find((v) => v && v.trim());
  return found || "";
}

function mappingRow(p, header, i) {
  const tr = document.createElement("tr");
  tr.dataset.header = header;
  const id = `map-${i}`;
  let options = [`<option value="">${escapeHtml(s.skip)}</option>`]
    .concat(p.fields.map((f) => `<option value="${escapeHtml(f.api_name)}">${escapeHtml(f.name)}${f.required ? " *" : ""}</option>`))
    .join("");
  if (STAMPS.size) {
    // Administrators only; never suggested (as the API's preview suggests no stamp).
    const stamps = cfg.stamps.map((st) => `<option value="${escapeHtml(st.value)}">${escapeHtml(st.label)}</option>`).join("");
    options += `<optgroup label="${escapeHtml(s.stamps_group)}">${stamps}</optgroup>`;
  }
  tr.innerHTML = `<th scope="row"><label for="${id}">${escapeHtml(header)}</label></th>
    <td class="sample">${escapeHtml(sampleOf(p, i))}</td>
    <td class="imw-field"><select id="${id}" data-map aria-describedby="${id}-error">${options}</select>
      <p class="field-error" id="${id}-error" data-row-error hidden></p></td>
    <td class="how small imw-how"></td>`;
  const select = tr.querySelector("select");
  select.value = p.suggested[header] || "";
  select.addEventListener("change", () => {
    describe(tr);
    refreshKey();
  });
  describe(tr);
  return tr;
}

function fieldOf(apiName) {
  return state.preview.fields.find((f) => f.api_name === apiName);
}

function describe(tr) {
  const value = tr.querySelector("[data-map]").value;
  const f = fieldOf(value);
  const how = tr.querySelector(".how");
  how.replaceChildren();
  showRowError(tr, "");
  if (STAMPS.has(value)) {
    how.textContent = value.endsWith("_by") ? s.stamp_user : s.dates;
    return;
  }
  if (!f) return;
  if (f.type === "link" && f.keys) {
    const id = `${tr.querySelector("select").id}-key`;
    const keyed = f.keys.find((k) => k.unique) || f.keys[0];
    how.innerHTML = `<label for="${id}" class="small">${escapeHtml(s.match_by)}</label>
      <select id="${id}" data-link-key="${escapeHtml(f.api_name)}">
        <option value="">${escapeHtml(s.record_id)}</option>
        ${f.keys.map((k) => `<option value="${escapeHtml(k.api_name)}"${keyed && k.api_name === keyed.api_name ? " selected" : ""}>${escapeHtml(k.name)}</option>`).join("")}
      </select>`;
    if (CREATABLE.has(f.api_name)) {
      // A key no record holds creates the linked record; by record id there is nothing
      // to create it from.
      how.insertAdjacentHTML(
        "beforeend",
        `<label class="choice imw-create"><input type="checkbox" id="${id}-create" data-create-missing="${escapeHtml(f.api_name)}"> ${escapeHtml(s.create_missing)}</label>`,
      );
      const key = how.querySelector("[data-link-key]");
      const box = how.querySelector("[data-create-missing]");
      const sync = () => {
        box.disabled = !key.value;
        if (box.disabled) box.checked = false;
      };
      key.addEventListener("change", sync);
      sync();
    }
    return;
  }
  const texts = {
    select: () => format(s.by_label, { choices: (f.choices || []).join(", ") }),
    user: () => s.by_email,
    checkbox: () => s.booleans,
    number: () => s.numbers,
    money: () => s.numbers,
    date: () => s.dates,
    datetime: () => s.dates,
  };
  how.textContent = texts[f.type] ? texts[f.type]() : "";
}

function mode() {
  return root.querySelector("[data-mode]:checked").value;
}

function mapped() {
  const out = {};
  for (const tr of root.querySelectorAll("[data-mapping] tbody tr")) {
    const value = tr.querySelector("[data-map]").value;
    if (value) out[tr.dataset.header] = value;
  }
  return out;
}

function refreshKey() {
  const row = $("[data-key-row]");
  row.hidden = mode() === "create";
  // Only rows that create a record can duplicate one: nothing to choose for "update".
  const dup = $("[data-duplicates-row]");
  if (dup) dup.hidden = mode() === "update";
  const select = $("[data-key]");
  const previous = select.value;
  const names = Object.values(mapped());
  const fields = state.preview.fields.filter((f) => names.includes(f.api_name));
  fields.sort((a, b) => Number(b.unique) - Number(a.unique));
  select.innerHTML = fields.map((f) => `<option value="${escapeHtml(f.api_name)}">${escapeHtml(f.name)}</option>`).join("");
  if (fields.some((f) => f.api_name === previous)) select.value = previous;
}

function importOptions(dryRun) {
  const mapping = mapped();
  const linkKeys = {};
  for (const sel of root.querySelectorAll("[data-link-key]")) {
    if (sel.value) linkKeys[sel.dataset.linkKey] = sel.value;
  }
  const out = { ...readOptions(), mode: mode(), mapping, link_keys: linkKeys, dry_run: dryRun };
  out.on_error = $("[data-stop-on-error]").checked ? "stop" : "skip";
  if (out.mode !== "create") out.key = [$("[data-key]").value];
  const dateFormat = $("[data-option=date_format]").value;
  if (dateFormat === "custom") out.date_format = dateFormatOf($("[data-date-custom]").value);
  else if (dateFormat) out.date_format = dateFormat;
  const decimal = $("[data-option=decimal_comma]").value;
  if (decimal) out.decimal_comma = decimal === "true";
  const separator = $("[data-list-separator]").value;
  if (separator && !$("[data-list-sep-row]").hidden) out.list_separator = separator;
  const create = [...root.querySelectorAll("[data-create-missing]:checked")].map((box) => box.dataset.createMissing);
  if (create.length) out.create_missing = create;
  const dup = root.querySelector("[data-duplicates]:checked");
  if (dup && dup.value !== "report" && out.mode !== "update") out.duplicates = dup.value;
  if ($("[data-skip-webhooks]").checked) out.skip_webhooks = true;
  if ($("[data-skip-scenarios]").checked) out.skip_scenarios = true;
  if (Object.values(mapping).some((name) => STAMPS.has(name))) out.keep_stamps = true;
  return out;
}

/** The text that splits a cell into several values: what options.py accepts (1 to 5
 * characters, not only spaces; "tab" is a tab); empty is the importer's default. */
export function separatorProblem(text) {
  if (!text || text === "tab" || text === "\\t" || text === "\t") return false;
  return text.length > MAX_SEPARATOR || text.trim() === "";
}

function checkSeparator() {
  const input = $("[data-list-separator]");
  const bad = !$("[data-list-sep-row]").hidden && separatorProblem(input.value);
  showOptionError("list_separator", bad ? s.list_separator_bad : "");
  return bad ? s.list_separator_bad : null;
}

/** An option's error next to its control (an empty text clears it). */
function showOptionError(name, text) {
  const box = root.querySelector(`[data-option-error="${name}"]`);
  if (!box) return false;
  box.textContent = text;
  box.hidden = !text;
  for (const control of root.querySelectorAll(`[data-option-control="${name}"]`)) {
    if (text) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }
  return true;
}

/** A mapping row's error under its field select (an empty text clears it). */
function showRowError(tr, text) {
  const box = tr.querySelector("[data-row-error]");
  box.textContent = text;
  box.hidden = !text;
  const select = tr.querySelector("[data-map]");
  if (text) select.setAttribute("aria-invalid", "true");
  else select.removeAttribute("aria-invalid");
}

function clearOptionErrors() {
  for (const box of root.querySelectorAll("[data-option-error]")) showOptionError(box.dataset.optionError, "");
  for (const tr of root.querySelectorAll("[data-mapping] tbody tr")) showRowError(tr, "");
}

function rowOfField(apiName) {
  return [...root.querySelectorAll("[data-mapping] tbody tr")].find((tr) => tr.querySelector("[data-map]").value === apiName);
}

/** The API's 422 naming an option (`options.list_separator`, `mapping.<column>`,
 * `link_keys.<field>`) said next to the control it is about; the control is focused.
 * True when one was found. */
function placeApiError(error) {
  let target = null;
  for (const [name, text] of Object.entries(error.fields || {})) {
    const [head, ...rest] = name.split(".");
    const tail = rest.join(".");
    let control = null;
    if (head === "options" && tail === "create_missing") {
      const box = root.querySelector("[data-create-missing]:checked");
      if (box) {
        showRowError(box.closest("tr"), text);
        control = box;
      }
    } else if (head === "options" && showOptionError(tail, text)) {
      control = root.querySelector(`[data-option-control="${tail}"]:checked`) || root.querySelector(`[data-option-control="${tail}"]`);
    } else if (head === "mapping" || head === "link_keys") {
      const tr =
        head === "mapping"
          ? [...root.querySelectorAll("[data-mapping] tbody tr")].find((row) => row.dataset.header.toLowerCase() === tail.toLowerCase())
          : rowOfField(tail);
      if (tr) {
        showRowError(tr, text);
        control = tr.querySelector(head === "mapping" ? "[data-map]" : "[data-link-key]") || tr.querySelector("[data-map]");
      }
    }
    if (control && !target) target = control;
  }
  if (!target) return false;
  const more = target.closest("details");
  if (more) more.open = true;
  target.focus();
  return true;
}

/** A typed date format that names no day, month and year: said next to its input. */
function checkDateFormat() {
  const input = $("[data-date-custom]");
  const error = $("[data-date-custom-error]");
  const bad = $("[data-option=date_format]").value === "custom" && !dateFormatOf(input.value);
  error.hidden = !bad;
  error.textContent = bad ? s.date_custom_bad : "";
  if (bad) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return bad ? s.date_custom_bad : null;
}

function checkColumns() {
  clearOptionErrors();
  const badDate = checkDateFormat();
  if (badDate) {
    $("[data-date-custom]").focus();
    return badDate;
  }
  const badSeparator = checkSeparator();
  if (badSeparator) {
    $("[data-list-separator]").focus();
    return badSeparator;
  }
  const mapping = mapped();
  const used = Object.values(mapping).filter((name) => !STAMPS.has(name));
  if (!used.length) return s.no_columns;
  if (mode() !== "update") {
    const missing = state.preview.fields.filter((f) => f.required && !used.includes(f.api_name));
    if (missing.length) return format(s.required_unmapped, { names: missing.map((f) => f.name).join(", ") });
  }
  if (mode() !== "create" && !$("[data-key]").value) return s.key_needed;
  return null;
}

// ----- steps 3 and 4: the jobs ------------------------------------------------------------------
async function startJob(dryRun) {
  const body = new FormData();
  body.append("file", state.file, state.file.name);
  body.append("options", JSON.stringify(importOptions(dryRun)));
  const started = await api("POST", cfg.imports, body);
  return started.id;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function follow(jobId, onProgress) {
  for (;;) {
    const job = await api("GET", `${cfg.jobs}/${jobId}`);
    onProgress(job);
    if (FINISHED.has(job.status)) return job;
    await sleep(POLL_MS);
  }
}

function errorsTable(job) {
  if (!job.errors) return `<p class="small">${escapeHtml(s.no_errors)}</p>`;
  const sample = job.error_sample || [];
  const rows = sample
    .map(
      (e) => `<tr><td class="t-number" data-label="${escapeHtml(s.col_line)}">${escapeHtml(e.line)}</td><td data-label="${escapeHtml(s.col_column)}">${escapeHtml(e.column ?? "")}</td>
        <td data-label="${escapeHtml(s.col_value)}">${escapeHtml(e.value ?? "")}</td><td data-label="${escapeHtml(s.col_reason)}">${escapeHtml(e.message)}</td></tr>`,
    )
    .join("");
  const heads = [s.col_line, s.col_column, s.col_value, s.col_reason].map((h, i) => `<th scope="col"${i ? "" : ' class="t-number"'}>${escapeHtml(h)}</th>`).join("");
  return `<p class="small">${escapeHtml(format(s.first_errors, { shown: sample.length, errors: job.errors }))}</p>
    <div class="table-wrap errors-wrap" tabindex="0" role="region" aria-label="${escapeHtml(s.col_reason)}"><table class="records errors"><thead><tr>${heads}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** Why a job stopped: the sample's entry without a line. */
function failure(job) {
  const found = (job.error_sample || []).find((e) => e.line == null);
  return found ? found.message : "";
}

function counts(text, job) {
  return format(text, { created: job.created, updated: job.updated, unchanged: job.unchanged, errors: job.errors });
}

async function dryRun() {
  const problem = checkColumns();
  const box = $("[data-columns-error]");
  box.hidden = !problem;
  if (problem) {
    box.textContent = problem;
    box.focus?.();
    return;
  }
  const button = $("[data-dry-run]");
  button.disabled = true;
  try {
    const id = await startJob(true);
    showStep("check");
    $("[data-check-summary]").textContent = s.checking;
    $("[data-check-errors]").innerHTML = "";
    $("[data-run]").disabled = true;
    const job = await follow(id, (j) => {
      $("[data-check-progress]").textContent = progressText(j);
    });
    $("[data-check-progress]").textContent = "";
    $("[data-check-summary]").textContent = job.status === "failed" ? format(s.failed, { message: failure(job) }) : counts(s.would, job);
    $("[data-check-errors]").innerHTML = errorsTable(job);
    $("[data-run]").disabled = job.status === "failed";
  } catch (error) {
    box.textContent = error instanceof ApiError ? error.explain() : String(error);
    box.hidden = false;
    showStep("columns");
    if (error instanceof ApiError) placeApiError(error);
  } finally {
    button.disabled = false;
  }
}

function progressText(job) {
  if (job.total) return format(s.progress, { done: job.processed, total: job.total });
  return format(s.progress_open, { done: job.processed || 0 });
}

function etaText(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return "";
  const time = seconds < 90 ? format(s.seconds, { n: Math.ceil(seconds) }) : format(s.minutes, { n: Math.ceil(seconds / 60) });
  return format(s.eta, { time });
}

async function run() {
  $("[data-run]").disabled = true;
  let id;
  try {
    id = await startJob(false);
  } catch (error) {
    $("[data-check-summary]").textContent = error instanceof ApiError ? error.explain() : String(error);
    $("[data-run]").disabled = false;
    return;
  }
  state.job = id;
  state.cancelling = false;
  showStep("import");
  for (const el of root.querySelectorAll("[data-done], [data-again], [data-error-file]")) el.hidden = true;
  $("[data-cancel]").hidden = false;
  $("[data-cancel]").disabled = false;
  $("[data-run-summary]").textContent = s.importing;
  $("[data-run-errors]").innerHTML = "";
  const bar = $("[data-bar]");
  let first = null;
  const job = await follow(id, (j) => {
    const now = performance.now();
    if (!first && j.processed) first = { at: now, done: j.processed };
    const share = j.total ? Math.min(100, Math.round((100 * j.processed) / j.total)) : 0;
    bar.setAttribute("aria-valuenow", String(share));
    bar.querySelector(".bar").style.width = `${share}%`;
    let text = progressText(j);
    if (first && j.total && j.processed > first.done) {
      const rate = (j.processed - first.done) / ((now - first.at) / 1000);
      const eta = etaText((j.total - j.processed) / rate);
      if (eta) text += ` · ${eta}`;
    }
    if (state.cancelling) text += ` · ${s.cancelling}`;
    $("[data-progress-text]").textContent = text;
  });
  finish(job);
}

function finish(job) {
  const bar = $("[data-bar]");
  if (job.status === "done") {
    bar.setAttribute("aria-valuenow", "100");
    bar.querySelector(".bar").style.width = "100%";
  }
  $("[data-cancel]").hidden = true;
  let summary = counts(s.did, job);
  if (job.status === "cancelled" || job.status === "interrupted") summary = `${s.cancelled} ${summary}`;
  if (job.status === "failed") summary = `${format(s.failed, { message: failure(job) })} ${summary}`;
  $("[data-run-summary]").textContent = summary;
  $("[data-run-errors]").innerHTML = errorsTable(job);
  $("[data-done]").hidden = false;
  $("[data-again]").hidden = false;
  if (job.errors) offerErrorFile(job);
}

function offerErrorFile(job) {
  // The importer's error file: every refused row (not only the sample shown) with the
  // file's own columns, then the line, the column and the reason.
  const link = $("[data-error-file]");
  link.href = `${cfg.jobs}/${job.id}/errors`;
  link.hidden = false;
}

async function cancel() {
  if (!state.job) return;
  $("[data-cancel]").disabled = true;
  state.cancelling = true;
  try {
    await api("POST", `${cfg.jobs}/${state.job}/cancel`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) toast(error.message, "error");
  }
}

function wire() {
  const input = $("[data-file]");
  const drop = $("[data-drop]");
  input.addEventListener("change", () => chooseFile(input.files[0]));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    chooseFile(e.dataTransfer.files[0]);
  });
  for (const sel of root.querySelectorAll("[data-reread]")) sel.addEventListener("change", () => readPreview());
  $("[data-sheet]").addEventListener("change", () => readPreview());
  $("[data-option=date_format]").addEventListener("change", (e) => {
    $("[data-date-custom-row]").hidden = e.target.value !== "custom";
    if (e.target.value === "custom") $("[data-date-custom]").focus();
    else checkDateFormat();
  });
  $("[data-date-custom]").addEventListener("change", checkDateFormat);
  $("[data-list-separator]").addEventListener("change", checkSeparator);
  for (const radio of root.querySelectorAll("[data-mode]")) radio.addEventListener("change", refreshKey);
  $("[data-dry-run]").addEventListener("click", dryRun);
  $("[data-run]").addEventListener("click", run);
  $("[data-cancel]").addEventListener("click", cancel);
  for (const back of root.querySelectorAll("[data-back]")) {
    back.addEventListener("click", () => {
      if (back.dataset.back === "file") input.value = "";
      showStep(back.dataset.back);
    });
  }
}

if (root) wire();
