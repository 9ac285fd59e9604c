/** The page's chrome around the tree: the run list, the run's title and stats, the status legend. */
import type { NodeStatus, RunRow } from "../trace-view.ts";
import { formatRunTime, runTime } from "../../memory/run-time.ts";
import { h, num } from "./dom.ts";
import { statusColor, statusLabel } from "./status.ts";

/**
 * The wall-clock span of the run for the chart's time axis (nodes are placed by their creation time
 * since the start): up to now while it is alive, up to its last sign of life otherwise.
 */
export function runSpan(r: RunRow): { ms: number } {
  if (r.status !== "running" || runTime(r).stale) return { ms: Math.max(0, (r.endedAt ?? r.heartbeatAt ?? r.startedAt) - r.startedAt) };
  return { ms: Math.max(0, Date.now() - r.startedAt) };
}

/** One list item per run, newest first (the server's order); `activeId` is highlighted. */
export function runListItems(runs: RunRow[], activeId: string | null): HTMLElement[] {
  return runs.map((r) =>
    h(
      "li",
      { class: r.id === activeId ? "active" : "", "data-run": r.id },
      h(
        "a",
        { href: `#/run/${encodeURIComponent(r.id)}` },
        h(
          "div",
          { class: "row" },
          h("span", { class: `dot run-${r.status}` }),
          h("b", {}, r.problem),
          h("span", { class: "grow" }),
          r.bestSpeedup !== null ? h("span", { class: "speed" }, `${r.bestSpeedup.toFixed(2)}x`) : null,
        ),
        h("div", { class: "run-id" }, r.id),
        h(
          "div",
          { class: "small muted" },
          `${num(r.nodes)} nodes · ${num(r.correct)} correct · ${new Date(r.startedAt).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })}`,
        ),
      ),
    ),
  );
}

/** The top bar's run title (with a live / no-heartbeat pill) and its stats; the best stat selects the best node. */
export function runHeader(r: RunRow, bestLabel: string | null, onGo: (id: string) => void): { title: HTMLElement[]; stats: HTMLElement[] } {
  const { ms, stale } = runTime(r);
  const pill = stale
    ? h(
        "span",
        {
          class: "pill run-interrupted",
          title: "the search process has not reported for a while: it may have been killed (kforge resume continues it)",
        },
        "no heartbeat",
      )
    : h("span", { class: `pill run-${r.status}` }, r.status === "running" ? "live" : r.status);
  const stat = (label: string, value: string) =>
    h("span", { class: "stat" }, h("span", { class: "stat-value" }, value), h("span", { class: "stat-label" }, label));
  return {
    title: [h("span", { class: `dot run-${r.status}` }), h("b", {}, r.problem), h("span", { class: "muted mono" }, r.id), pill],
    stats: [
      stat("nodes", num(r.nodes)),
      stat("correct", num(r.correct)),
      r.bestSpeedup !== null && r.bestNode
        ? h(
            "a",
            {
              href: "#",
              class: "stat best",
              title: "select the best node",
              onclick: (e: Event) => {
                e.preventDefault();
                onGo(r.bestNode!);
              },
            },
            h("span", { class: "stat-value" }, `${r.bestSpeedup.toFixed(2)}x`),
            h("span", { class: "stat-label" }, `best · ${bestLabel}`),
          )
        : stat("best", "—"),
      stat("time", formatRunTime(ms)),
      stat("cost", `$${r.costUsd.toFixed(2)}`),
      stat("tokens", num(r.promptTokens + r.completionTokens)),
    ],
  };
}

/** The legend: each status present with its colour and count, most frequent first. */
export function legendItems(nodes: Iterable<{ status: NodeStatus }>): HTMLElement[] {
  const counts = new Map<NodeStatus, number>();
  for (const n of nodes) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([s, c]) =>
      h("span", { class: "legend-item" }, h("span", { class: "swatch", style: `background:${statusColor(s)}` }), `${statusLabel(s)} ${c}`),
    );
}
