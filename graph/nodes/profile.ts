/**
 * profile: Nsight Compute on the batch's promising correct candidates (the new best and the run's
 * top N), then the profiler agent names bottlenecks. Without a profiler the search goes on with
 * timing feedback and the trace says why.
 */
import type { GraphDeps } from "../deps.ts";
import type { ExpansionStateUpdate, ExpansionStateValue } from "../state.ts";
import { loadView } from "../view.ts";

/** Profiles the batch's promising correct candidates and records the profiler agent's bottlenecks. */
export async function profile(state: ExpansionStateValue, deps: GraphDeps): Promise<ExpansionStateUpdate> {
  const { store, runId } = deps;
  if (state.profilerOff) return {}; // this run already learnt the profiler cannot work here
  const correct = Object.entries(state.batch).filter(([, e]) => e.status === "ok" && e.speedup !== null);
  if (correct.length === 0) return {}; // nothing correct to profile
  if (!deps.profiler) {
    const why = "no profiler configured: the search uses timing feedback only";
    store.recordEvent(runId, null, "profile_unavailable", why);
    return { profilerOff: why };
  }
  const ranked = store
    .listNodes(runId)
    .filter((n) => n.status === "ok" && n.speedup !== null)
    .sort((a, b) => b.speedup! - a.speedup!);
  const topIds = new Set(ranked.slice(0, deps.options.profileTop).map((n) => n.id));
  const chosen = correct
    .filter(([id]) => topIds.has(id) || id === state.best?.nodeId)
    .sort((a, b) => b[1].speedup! - a[1].speedup!)
    .slice(0, deps.options.maxProfilesPerIteration)
    .map(([id]) => id);
  for (const nodeId of chosen) {
    if (store.getProfile(nodeId)) continue; // profiled before a crash
    const view = loadView(store, nodeId);
    deps.progress.activity(nodeId, `profiling ${view.row.label}`);
    try {
      const outcome = await deps.profiler.profile({ problem: deps.problem, source: view.kernel!, candidateId: nodeId, signal: deps.signal });
      store.recordProfile(runId, nodeId, outcome);
      if (outcome.status === "unavailable") {
        store.recordEvent(runId, nodeId, "profile_unavailable", outcome.reason);
        deps.progress.log(`profiling unavailable (${outcome.reason}): timing feedback only from now on`);
        return { profilerOff: outcome.reason };
      }
      if (outcome.status === "failed") {
        store.recordEvent(runId, nodeId, "profile_failed", outcome.reason);
        continue;
      }
      if (deps.agents.analyzeProfile) {
        const bottlenecks = await deps.agents.analyzeProfile(
          { problem: deps.problem, node: view, summary: outcome.summary },
          { runId, nodeId, signal: deps.signal },
        );
        if (bottlenecks) store.setBottlenecks(nodeId, bottlenecks);
      }
    } finally {
      deps.progress.activity(nodeId, null);
    }
  }
  return {};
}
