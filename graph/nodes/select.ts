/** select: checks the budget, then asks the tree policy which node to expand next (or ends the search). */
import { setTimeout as sleep } from "node:timers/promises";
import type { GraphDeps } from "../deps.ts";
import type { SearchStateUpdate, SearchStateValue } from "../state.ts";
import { stopReason } from "../budget.ts";
import { chooseNode } from "../policy.ts";

/** The longest pause between iterations while the model endpoint is down. */
export const MAX_OUTAGE_PAUSE_MS = 5 * 60_000;

/** Ends the search when a budget is spent; otherwise picks the next node to expand (pausing first during an outage). */
export async function select(state: SearchStateValue, deps: GraphDeps): Promise<SearchStateUpdate> {
  const { store, runId } = deps;
  const entries = Object.values(state.batch);
  // Every candidate of the last batch failed on the model call: the endpoint is likely down, so wait instead of burning nodes.
  const outageStreak = entries.length > 0 && entries.every((e) => e.modelFailed === true) ? state.outageStreak + 1 : 0;
  const elapsedMs = deps.elapsedMs();
  store.heartbeat(runId, elapsedMs);
  const t = store.runTotals(runId);
  const stop = stopReason(deps.limits, { elapsedMs, nodes: t.nodes, tokens: t.promptTokens + t.completionTokens, costUsd: t.costUsd, bestSpeedup: t.bestSpeedup });
  if (stop) return { stop, outageStreak, batch: null };
  if (outageStreak > 0) {
    const pause = Math.min(MAX_OUTAGE_PAUSE_MS, deps.options.outagePauseMs * 2 ** (outageStreak - 1));
    store.recordEvent(runId, null, "outage", `every model call of the last batch failed; pausing ${Math.round(pause / 1000)}s before the next expansion`);
    deps.progress.log(`model calls failing: pausing ${Math.round(pause / 1000)}s`);
    await sleep(pause, undefined, { signal: deps.signal });
  }
  const iteration = state.iteration + 1;
  const choice = chooseNode(store.listNodes(runId), { ...deps.options.policy, seed: deps.options.seed, iteration });
  if (!choice) return { stop: "exhausted", outageStreak, batch: null };
  return { iteration, selected: { nodeId: choice.nodeId, mode: choice.mode, reason: choice.reason }, children: [], batch: null, outageStreak };
}
