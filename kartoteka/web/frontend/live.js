// The live feed (server-sent events): one EventSource per page; widgets follow the
// catalogs they show. The server applies the reader's rights to every event.
import { apiBase } from "./api.js";

const followers = new Map();
const listeners = new Map();
let source = null;

function listen(type, handlers) {
  source.addEventListener(type, (message) => {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    for (const handler of handlers) handler(data);
  });
}

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
  for (const [type, handlers] of listeners) listen(type, handlers);
  window.addEventListener("pagehide", () => source && source.close());
}

/** Call `handler(event)` for every change to a record of `catalog` the user may see. */
export function follow(catalog, handler) {
  if (!followers.has(catalog)) followers.set(catalog, new Set());
  followers.get(catalog).add(handler);
  connect();
  return () => followers.get(catalog).delete(handler);
}

/** Call `handler(data)` for every feed event of `type` that is not a record change
 * (e.g. "notice": the reader's own unread count changed). */
export function onFeed(type, handler) {
  let handlers = listeners.get(type);
  if (!handlers) {
    handlers = new Set();
    listeners.set(type, handlers);
    if (source) listen(type, handlers);
  }
  handlers.add(handler);
  connect();
  return () => handlers.delete(handler);
}
