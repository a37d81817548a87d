// A record's card: pickers (Tom Select: users, links with remote search and "+ create"),
// file drop zone with progress, image viewer, audio, masked-value reveal, saving with
// per-field messages in place, action webhooks while typing, and live "changed by".
import TomSelect from "tom-select/base";
import { plainAmount } from "./amounts.js";
import { api, ApiError, upload } from "./api.js";
import { follow } from "./live.js";
import { initRunButtons } from "./runbuttons.js";
import { codeMessage, escapeHtml, strings, toast } from "./ui.js";
import { openViewer } from "./viewer.js";

function linkPicker(select) {
  const url = select.dataset.choices;
  const multiple = select.multiple;
  return new TomSelect(select, {
    valueField: "id",
    labelField: "title",
    searchField: ["title"],
    maxItems: multiple ? null : 1,
    allowEmptyOption: !multiple,
    preload: "focus",
    loadThrottle: 250,
    plugins: multiple ? ["remove_button"] : [],
    load(query, done) {
      api("GET", `${url}?search=${encodeURIComponent(query)}&limit=20`)
        .then((answer) => done(answer.items.map((r) => ({ id: String(r.id), title: r.title }))))
        .catch(() => done());
    },
    render: {
      no_results: () => `<div class="no-results">—</div>`,
    },
  });
}

function userPicker(select) {
  if (!select.multiple) return null;
  return new TomSelect(select, { plugins: ["remove_button"], maxItems: null });
}

function fileItem(apiName, file) {
  const li = document.createElement("li");
  li.className = "file";
  li.dataset.fileId = file.id;
  const mime = file.mime || "";
  let preview = "";
  if (mime.startsWith("image/")) {
    preview = `<a href="${escapeHtml(file.url)}" class="thumb" data-viewer><img src="${escapeHtml(file.thumbnail_url || file.url)}" alt="${escapeHtml(file.name)}"></a>`;
  } else if (mime.startsWith("audio/")) {
    preview = `<audio controls preload="none" src="${escapeHtml(file.url)}" aria-label="${escapeHtml(file.name)}"></audio>`;
  }
  li.innerHTML = `<input type="hidden" name="${escapeHtml(apiName)}" value="${escapeHtml(file.id)}">${preview}
    <a href="${escapeHtml(file.url)}" class="fname" download>${escapeHtml(file.name)}</a>
    <button type="button" class="icon" data-file-remove><span aria-hidden="true">✕</span><span class="sr-only">${escapeHtml(strings().remove)} ${escapeHtml(file.name)}</span></button>`;
  return li;
}

function fileField(box, onChange) {
  const apiName = box.dataset.fileField;
  const list = box.querySelector(".files");
  const input = box.querySelector("[data-file-input]");
  const zone = box.querySelector(".drop-zone");
  const progress = box.querySelector(".progress");
  const bar = progress.querySelector(".bar");
  const multiple = box.dataset.multiple === "true";
  async function send(files) {
    for (const file of files) {
      progress.hidden = false;
      bar.style.width = "0%";
      progress.setAttribute("aria-label", `${strings().uploading} ${file.name}`);
      try {
        const stored = await upload(file, (share) => {
          bar.style.width = `${Math.round(share * 100)}%`;
        });
        if (!multiple) list.replaceChildren();
        list.appendChild(fileItem(apiName, stored));
        onChange();
      } catch (err) {
        toast(codeMessage(err), "error");
      } finally {
        progress.hidden = true;
      }
    }
  }
  input.addEventListener("change", () => send([...input.files]).then(() => (input.value = "")));
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    send([...e.dataTransfer.files]);
  });
  list.addEventListener("click", (e) => {
    const remove = e.target.closest("[data-file-remove]");
    if (remove) {
      remove.closest("li").remove();
      onChange();
    }
  });
}

/** The records a refused save duplicates, as links to their cards, and the merge form. */
function showDuplicates(form, matches) {
  const box = form.querySelector("[data-duplicate-links]");
  if (!box) return;
  const list = box.querySelector("[data-duplicate-list]");
  list.replaceChildren();
  const records = matches.filter((m) => m.id !== undefined);
  records.forEach((m, i) => {
    const link = document.createElement("a");
    link.href = m.url;
    link.textContent = `#${m.id} ${m.title}`;
    if (i) list.append(", ");
    list.append(link);
  });
  const merge = box.querySelector("[data-duplicate-merge]");
  const target = matches.find((m) => m.merge);
  merge.hidden = !target;
  if (target) merge.href = target.merge;
  box.hidden = !records.length;
}

function showErrors(form, answer) {
  form.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
  form.querySelectorAll(".field-error").forEach((el) => {
    el.hidden = true;
    el.textContent = "";
  });
  const general = form.querySelector("[data-form-error]");
  let first = null;
  for (const [name, message] of Object.entries(answer.errors || {})) {
    const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    const note = form.querySelector(`#err-${CSS.escape(name)}`);
    if (box && note) {
      box.classList.add("invalid");
      note.textContent = message;
      note.hidden = false;
      first = first || box.querySelector("input, select, textarea");
    }
  }
  if (answer.duplicate && !form.querySelector("input[name=_skip_duplicates]")) {
    // A duplicate rule matched: the message says so, and saving again writes it anyway.
    const skip = document.createElement("input");
    Object.assign(skip, { type: "hidden", name: "_skip_duplicates", value: "1" });
    form.append(skip);
  }
  if (general) {
    general.textContent = answer.message || (first ? "" : strings().error);
    general.hidden = !general.textContent;
  }
  showDuplicates(form, answer.matches || []);
  if (first) first.focus();
  else general?.focus();
}

function formValues(form) {
  const data = new FormData(form);
  const out = {};
  const checkboxes = new Set(data.getAll("_checkbox"));
  const lists = new Set([...data.keys()].filter((k) => k.startsWith("_list_")).map((k) => k.slice(6)));
  for (const box of form.querySelectorAll(".field[data-field]")) {
    const name = box.dataset.field;
    if (!box.querySelector(`[name="${CSS.escape(name)}"]`) && !lists.has(name)) continue;
    if (checkboxes.has(name)) out[name] = data.has(name);
    else if (lists.has(name)) out[name] = data.getAll(name).filter(Boolean).map((v) => (/^\d+$/.test(v) ? Number(v) : v));
    else if (data.has(name)) out[name] = data.get(name) === "" ? null : typed(box, name, data.get(name));
  }
  return out;
}

// The API reads plain numbers: "1 234,56" typed in Russian goes as "1234.56".
function typed(box, name, value) {
  const input = box.querySelector(`[name="${CSS.escape(name)}"]`);
  return input && "amount" in input.dataset ? plainAmount(value, document.documentElement.lang) : value;
}

function fill(form, values) {
  for (const [name, value] of Object.entries(values || {})) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input || input.type === "hidden") continue;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else if (input.type === "radio") {
      const id = value && typeof value === "object" ? value.id : value;
      form.querySelectorAll(`[name="${CSS.escape(name)}"]`).forEach((r) => (r.checked = String(r.value) === String(id ?? "")));
    } else if (input.tomselect) input.tomselect.setValue(value);
    else input.value = value ?? "";
  }
}

async function openNestedCreate(link, picker) {
  const dialog = document.createElement("dialog");
  dialog.className = "nested";
  dialog.setAttribute("aria-label", link.textContent.trim());
  document.body.appendChild(dialog);
  const url = new URL(link.href, window.location.href);
  url.searchParams.set("panel", "1");
  const response = await fetch(url, { credentials: "same-origin" });
  dialog.innerHTML = `<button type="button" class="icon close" data-close><span aria-hidden="true">✕</span><span class="sr-only">${escapeHtml(strings().close)}</span></button>${await response.text()}`;
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  initCard(dialog.querySelector("[data-card]"), {
    inPanel: true,
    onCreated(record) {
      picker.addOption({ id: String(record.id), title: record.title });
      picker.addItem(String(record.id));
      dialog.close();
      toast(strings().created);
    },
  });
  dialog.querySelector("input:not([type=hidden]), select, textarea")?.focus();
}

export function initCard(card, options = {}) {
  if (!card || card.dataset.ready) return;
  card.dataset.ready = "1";
  const form = card.querySelector("[data-card-form]");
  const recordId = card.dataset.record;
  const apiUrl = card.dataset.api;
  const pickers = new Map();
  card.querySelectorAll("select[data-picker=link]").forEach((s) => pickers.set(s.id, linkPicker(s)));
  card.querySelectorAll("select[data-picker=user]").forEach((s) => userPicker(s));
  // A field's help text (the designer's) describes its input, read with the label.
  card.querySelectorAll(".field-help").forEach((help) => {
    const input = help.closest("[data-field]")?.querySelector("fieldset, input:not([type=hidden]), select, textarea");
    if (input) input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), help.id].filter(Boolean).join(" "));
  });
  card.querySelectorAll("a[data-create-linked]").forEach((a) =>
    a.addEventListener("click", (e) => {
      e.preventDefault();
      const picker = pickers.get(a.dataset.for);
      if (picker) openNestedCreate(a, picker);
    }),
  );
  let askTimer = null;
  const changed = () => {
    if (!form) return;
    clearTimeout(askTimer);
    askTimer = setTimeout(() => askActions(), 600);
  };
  card.querySelectorAll("[data-file-field]").forEach((box) => fileField(box, changed));
  card.addEventListener("click", (e) => {
    const thumb = e.target.closest("a[data-viewer]");
    if (thumb) {
      e.preventDefault();
      const all = [...card.querySelectorAll("a[data-viewer]")];
      openViewer(all.map((a) => ({ src: a.href, alt: a.querySelector("img")?.alt || "" })), all.indexOf(thumb));
    }
    const reveal = e.target.closest("[data-reveal]");
    if (reveal) revealValue(reveal);
  });

  async function revealValue(button) {
    try {
      const answer = await api("POST", `${apiUrl}/records/${recordId}/reveal/${encodeURIComponent(button.dataset.reveal)}`);
      const value = button.parentElement.querySelector("[data-value]");
      value.textContent = answer.value ?? "—";
      button.remove();
    } catch (err) {
      toast(codeMessage(err), "error");
    }
  }

  async function askActions() {
    const path = recordId ? `${apiUrl}/records/${recordId}/editing` : `${apiUrl}/records/editing`;
    try {
      const answer = await api("POST", path, { values: formValues(form) });
      if (answer && answer.values && Object.keys(answer.values).length) fill(form, answer.values);
      const note = form.querySelector("[data-form-error]");
      if (answer && answer.message && note) {
        note.textContent = answer.message;
        note.hidden = false;
        note.classList.add("info");
      }
    } catch (_) {
      /* action webhooks are a help while typing; saving still validates everything */
    }
  }

  if (form) {
    form.addEventListener("change", changed);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        const answer = await response.json().catch(() => ({ message: strings().error }));
        if (!response.ok) {
          showErrors(form, answer);
          return;
        }
        const record = answer.record;
        toast(recordId ? strings().saved : strings().created);
        if (!recordId) {
          document.dispatchEvent(new CustomEvent("kartoteka:record-created", { detail: record }));
          if (options.onCreated) options.onCreated(record);
          else if (options.inPanel) (await import("./panel.js")).openPanel(`${card.dataset.url.replace(/\/new$/, "")}/r/${record.id}`);
          else window.location.href = `${card.dataset.url.replace(/\/new$/, "")}/r/${record.id}`;
          return;
        }
        document.dispatchEvent(new CustomEvent("kartoteka:record-saved", { detail: record }));
        showErrors(form, {});
        mine = true;
        if (options.inPanel) (await import("./panel.js")).reloadPanel();
        else window.location.href = `${card.dataset.url}?saved=1`;
      } catch (_) {
        toast(strings().network, "error");
      } finally {
        button.disabled = false;
      }
    });
  }

  // Comments inside the panel are posted without leaving the view.
  const comment = card.querySelector("#comments form");
  if (comment && options.inPanel) {
    comment.addEventListener("submit", async (e) => {
      e.preventDefault();
      await fetch(comment.action, { method: "POST", body: new FormData(comment), credentials: "same-origin" });
      (await import("./panel.js")).reloadPanel();
    });
  }

  let mine = false;
  initRunButtons(card, async () => {
    if (options.inPanel) (await import("./panel.js")).reloadPanel();
    else window.location.reload();
  });
  if (recordId) {
    follow(card.dataset.catalog, async (event) => {
      const mergedAway = (event.merged || []).map(String).includes(recordId);
      if ((String(event.record_id) !== recordId && !mergedAway) || !document.contains(card)) return;
      if (mine) {
        mine = false;
        return;
      }
      const banner = card.querySelector("[data-changed-banner]");
      if (!banner) return;
      let name = "";
      try {
        const record = await api("GET", `${apiUrl}/records/${recordId}`);
        name = record.updated_by ? record.updated_by.name : "";
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) name = "";
      }
      card.querySelector("[data-changed-text]").textContent = strings().changed_by.replace("%(name)s", name || "—");
      banner.hidden = false;
      banner.querySelector("[data-reload]").onclick = async () => {
        if (options.inPanel) (await import("./panel.js")).reloadPanel();
        else window.location.reload();
      };
    });
  }
}
