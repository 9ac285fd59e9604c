/** The side panel before a node is chosen: the run itself (settings, budget, spend, outcome). */
import type { RunRow } from "../trace-view.ts";
import { formatRunTime, runTime } from "../../memory/run-time.ts";
import { card, h, num } from "./dom.ts";

/** A card per concern: outcome, spend, settings; `onGo` selects a node (the best one). */
export function renderRunPanel(r: RunRow, bestLabel: string | null, onGo: (id: string) => void): HTMLElement {
  const kv = (rows: [string, Node | string | null][]) =>
    h(
      "table",
      { class: "grid kv-table" },
      h("tbody", {}, ...rows.filter(([, v]) => v !== null && v !== "").map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v!)))),
    );
  const when = (t: number | null) => (t === null ? null : new Date(t).toLocaleString());
  return h(
    "div",
    { class: "panel-body run-panel" },
    h(
      "header",
      { class: "panel-head" },
      h("div", { class: "row" }, h("span", { class: "node-id" }, r.problem), h("span", { class: `pill run-${r.status}` }, r.status)),
      h("h2", { class: "mono small muted" }, r.id),
      h("p", { class: "muted small" }, "Click a node in the tree to see its plan, prompt, reasoning, kernel, verifier result, profile and critique."),
    ),
    card(
      "run-outcome",
      "Outcome",
      kv([
        [
          "best",
          r.bestNode && r.bestSpeedup !== null
            ? h(
                "a",
                {
                  href: "#",
                  class: "node-link",
                  onclick: (e: Event) => {
                    e.preventDefault();
                    onGo(r.bestNode!);
                  },
                },
                `${bestLabel ?? r.bestNode} · ${r.bestSpeedup.toFixed(2)}x`,
              )
            : "no correct kernel yet",
        ],
        ["nodes", `${num(r.nodes)} (${num(r.correct)} correct)`],
        ["stop reason", r.stopReason],
        ["error", r.error],
        ["started", when(r.startedAt)],
        ["ended", when(r.endedAt)],
        ["run time", formatRunTime(runTime(r).ms)],
      ]),
    ),
    card(
      "run-spend",
      "Model spend",
      kv([
        ["calls", num(r.llmCalls)],
        ["tokens", `${num(r.promptTokens)} prompt · ${num(r.completionTokens)} completion (${num(r.reasoningTokens)} reasoning)`],
        ["cost", `$${r.costUsd.toFixed(2)}`],
      ]),
    ),
    card("run-settings", "Settings", h("pre", { class: "wrap" }, JSON.stringify({ config: r.config, budget: r.budget }, null, 2))),
  );
}
