// The REST API from the browser: same-origin session cookie, plus the CSRF header on
// unsafe methods (the value of the kartoteka_csrf cookie). Errors come back as ApiError
// with the server's code, message and per-field reasons: the server writes them in the
// page's language, asked for with Accept-Language.
import { pageLang, strings } from "./ui.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || strings().error);
    this.status = status;
    this.code = (body && body.error) || "NETWORK";
    this.fields = {};
    for (const [name, text] of Object.entries((body && body.fields) || {})) {
      this.fields[name] = String(text);
    }
    this.body = body || {};
  }

  /** The message for a person: the field's reason when one field is to blame. */
  explain(field) {
    if (field && this.fields[field]) return this.fields[field];
    const names = Object.keys(this.fields);
    if (names.length === 1) return this.fields[names[0]];
    return this.message;
  }
}

export function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("kartoteka_csrf="));
  return found ? decodeURIComponent(found.slice("kartoteka_csrf=".length)) : "";
}

export function apiBase() {
  return (document.body.dataset.base || "") + "/api/v1";
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json", "Accept-Language": pageLang() };
  if (body !== undefined && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : `${apiBase()}/${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
  } catch (_) {
    throw new ApiError(0, { message: strings().network });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Upload a file to /files with progress (fetch has no upload progress). */
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${apiBase()}/files`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept-Language", pageLang());
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (_) {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { message: strings().network })));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}
