// The record card's run buttons: start a manual scenario on the record through the
// API, follow the run (its starter may read its status), say how it ended in a toast
// and refresh the card so what the scenario changed shows.
import { api } from "./api.js";
import { codeMessage, toast } from "./ui.js";

const say = (template, name) => template.replace("{name}", name);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function follow(box, button, runId, refresh) {
  const name = button.dataset.name;
  const scenario = button.dataset.runScenario;
  for (let i = 0; i < 40; i++) {
    await pause(Math.min(300 * (i + 1), 1500));
    let state;
    try {
      state = await api("GET", `scenarios/${scenario}/runs/${runId}/status`);
    } catch (error) {
      toast(codeMessage(error), "error");
      return;
    }
    if (state.status === "done" || state.status === "skipped") {
      toast(say(box.dataset.done, name));
      refresh();
      return;
    }
    if (state.status === "failed" || state.status === "cancelled") {
      toast([say(box.dataset.failed, name), state.error].filter(Boolean).join(": "), "error");
      refresh();
      return;
    }
    if (state.status === "waiting") break;
  }
  toast(say(box.dataset.waiting, name));
}

/** Wire the run buttons of `card`; `refresh()` reloads the card afterwards. */
export function initRunButtons(card, refresh) {
  const box = card.querySelector("[data-run-buttons]");
  if (!box) return;
  box.addEventListener("click", async (e) => {
    const button = e.target.closest("[data-run-scenario]");
    if (!button || button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const run = await api("POST", `scenarios/${button.dataset.runScenario}/run`, {
        record_id: Number(box.dataset.recordId),
      });
      toast(say(box.dataset.started, button.dataset.name));
      await follow(box, button, run.id, refresh);
    } catch (error) {
      toast(codeMessage(error), "error");
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });
}
