/** select: checks the budget, then asks the tree policy which node to expand next (or ends the search). */
import type { GraphDeps } from "../deps.ts";
import type { SearchStateUpdate, SearchStateValue } from "../state.ts";
import { stopReason } from "../budget.ts";
import { chooseNode } from "../policy.ts";

/**
 * Ends the search when a budget is spent (or cannot pay for one more model call); otherwise picks the
 * next node to expand. An endpoint outage is not handled here: the breaker holds the calls themselves.
 */
export async function select(state: SearchStateValue, deps: GraphDeps): Promise<SearchStateUpdate> {
  const { store, runId } = deps;
  const elapsedMs = deps.elapsedMs();
  store.heartbeat(runId, elapsedMs);
  const t = store.runTotals(runId);
  const stop =
    stopReason(deps.limits, { elapsedMs, nodes: t.nodes, tokens: t.promptTokens + t.completionTokens, costUsd: t.costUsd, bestSpeedup: t.bestSpeedup }) ??
    deps.spend?.exhausted() ??
    null;
  if (stop) return { stop, batch: null };
  const iteration = state.iteration + 1;
  const choice = chooseNode(store.listNodes(runId), { ...deps.options.policy, seed: deps.options.seed, iteration });
  if (!choice) return { stop: "exhausted", batch: null };
  return { iteration, selected: { nodeId: choice.nodeId, mode: choice.mode, reason: choice.reason }, children: [], batch: null };
}
