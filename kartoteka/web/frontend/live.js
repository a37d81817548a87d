// The live feed (server-sent events): one EventSource per page; widgets follow the
// catalogs they show. The server applies the reader's rights to every event.
import { apiBase } from "./api.js";

const followers = new Map();
let source = null;

function connect() {
  if (source || !window.EventSource) return;
  source = new EventSource(`${apiBase()}/events/stream`);
  for (const type of ["record.created", "record.updated", "record.deleted", "record.merged"]) {
    source.addEventListener(type, (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (_) {
        return;
      }
      const name = event.catalog && event.catalog.api_name;
      for (const handler of followers.get(name) || []) handler(event);
    });
  }
  window.addEventListener("pagehide", () => source && source.close());
}

/** Call `handler(event)` for every change to a record of `catalog` the user may see. */
export function follow(catalog, handler) {
  if (!followers.has(catalog)) followers.set(catalog, new Set());
  followers.get(catalog).add(handler);
  connect();
  return () => followers.get(catalog).delete(handler);
}
