/**
 * select: checks the budget, then asks the tree policy for as many nodes as the pipeline has free
 * slots (or ends the search). Each chosen node becomes an open expansion with its own iteration and
 * a share of the node budget; `collect` runs them.
 */
import type { GraphDeps } from "../deps.ts";
import type { OpenExpansion, SearchStateUpdate, SearchStateValue } from "../state.ts";
import { nodesLeft, stopReason } from "../budget.ts";
import { chooseNodes } from "../policy.ts";
import { inflightTarget } from "../inflight.ts";

/**
 * Ends the search when a budget is spent (or cannot pay for one more model call): no expansion starts
 * and the open ones drain. Otherwise fills the pipeline's free slots with distinct nodes none of the
 * open expansions works on. An endpoint outage is not handled here: the breaker holds the calls themselves.
 */
export async function select(state: SearchStateValue, deps: GraphDeps): Promise<SearchStateUpdate> {
  const { store, runId } = deps;
  const elapsedMs = deps.elapsedMs();
  store.heartbeat(runId, elapsedMs);
  if (state.stop) return {}; // stopping: the open expansions drain
  const t = store.runTotals(runId);
  const stop =
    stopReason(deps.limits, {
      elapsedMs,
      nodes: t.nodes,
      tokens: t.promptTokens + t.completionTokens,
      costUsd: t.costUsd,
      bestSpeedup: t.bestSpeedup,
    }) ??
    deps.spend?.exhausted() ??
    null;
  if (stop) return { stop };
  const open = Object.values(state.open);
  const slots = inflightTarget(deps.options.inflight, deps.expansions.measures()) - open.length;
  // Children the open expansions have not planned yet stay reserved, so together they never pass --max-nodes.
  const reserved = open.reduce((sum, e) => sum + (store.getPlan(runId, e.iteration) ? 0 : e.quota), 0);
  let free = nodesLeft(deps.limits, t) - reserved;
  if (slots <= 0 || free <= 0) return {}; // the pipeline is full, or the node budget is all reserved
  const busy = { nodes: new Set(open.map((e) => e.nodeId)), iterations: new Set(open.map((e) => e.iteration)) };
  const policy = { ...deps.options.policy, seed: deps.options.seed, iteration: state.iteration + 1 };
  const choices = chooseNodes(store.listNodes(runId), policy, slots, busy);
  if (choices.length === 0) return open.length ? {} : { stop: "exhausted" }; // open expansions may widen the frontier
  let iteration = state.iteration;
  const started: Record<string, OpenExpansion> = {};
  for (const c of choices) {
    if (free <= 0) break;
    const quota = Math.min(deps.options.branching, free);
    free -= quota;
    iteration++;
    started[iteration] = { iteration, nodeId: c.nodeId, mode: c.mode, reason: c.reason, quota };
  }
  return { iteration, open: { ...state.open, ...started } };
}
