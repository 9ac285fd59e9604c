/** critique: the critic judges the batch's candidates side by side; its verdicts and next ideas feed the next plans. */
import type { GraphDeps } from "../deps.ts";
import type { ExpansionStateUpdate, ExpansionStateValue } from "../state.ts";
import { ruleCritique } from "../../agents/critic/rules.ts";
import { loadView } from "../view.ts";

/** Records a critique for every candidate of the batch not yet critiqued. */
export async function critique(state: ExpansionStateValue, deps: GraphDeps): Promise<ExpansionStateUpdate> {
  const { store, runId } = deps;
  const ids = Object.keys(state.batch).filter((id) => store.getCritique(id) === null);
  if (ids.length === 0) return {}; // every candidate was critiqued before a crash
  const views = ids.map((id) => loadView(store, id));
  const bestBefore = bestExcluding(deps, new Set(Object.keys(state.batch)));
  const parent = loadView(store, state.selected.nodeId);
  // Without a single kernel (all model calls failed) there is nothing for a critic to read.
  const critiques = views.some((v) => v.kernel !== null)
    ? await (async () => {
        deps.progress.activity(`critique:${state.iteration}`, `critiquing ${views.map((v) => v.row.label).join(", ")}`);
        try {
          return await deps.agents.critique(
            { problem: deps.problem, parent, candidates: views.map((view) => ({ view })), bestSpeedup: bestBefore },
            { runId, nodeId: parent.row.id, signal: deps.signal },
          );
        } finally {
          deps.progress.activity(`critique:${state.iteration}`, null);
        }
      })()
    : new Map(views.map((v) => [v.row.id, ruleCritique(v, bestBefore)]));
  store.atomically(() => {
    for (const v of views) store.recordCritique(runId, v.row.id, critiques.get(v.row.id) ?? ruleCritique(v, bestBefore));
  });
  return {};
}

/** The run's best speedup among nodes outside the current batch (what "new best" is measured against). */
function bestExcluding(deps: GraphDeps, exclude: Set<string>): number | null {
  let best: number | null = null;
  for (const n of deps.store.listNodes(deps.runId)) {
    if (n.status === "ok" && n.speedup !== null && !exclude.has(n.id) && (best === null || n.speedup > best)) best = n.speedup;
  }
  return best;
}
