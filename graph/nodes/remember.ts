/** remember: verified wins of the batch (faster than the baseline, or the run's new best) go into the memory of wins. */
import type { GraphDeps } from "../deps.ts";
import type { SearchStateUpdate, SearchStateValue } from "../state.ts";
import type { Critique } from "../../agents/types.ts";

/** Hands the batch's verified wins to the memory of wins. */
export async function remember(state: SearchStateValue, deps: GraphDeps): Promise<SearchStateUpdate> {
  const { store, runId, memory } = deps;
  if (!memory) return {}; // a search without a memory of wins
  for (const [nodeId, e] of Object.entries(state.batch)) {
    if (e.status !== "ok" || e.speedup === null) continue;
    if (e.speedup <= 1 && state.best?.nodeId !== nodeId) continue;
    const node = store.getNode(nodeId)!;
    const critique = store.getCritique(nodeId) as Critique | null;
    try {
      // The memory deduplicates by kernel hash, so a resumed run re-remembering is harmless.
      await memory.remember({
        problem: deps.problem, runId, nodeId, source: store.getKernel(nodeId)!, speedup: e.speedup, tflops: node.tflops, gpu: deps.gpu,
        keyIdeas: critique?.keyIdeas.length ? critique.keyIdeas : [node.title].filter(Boolean),
      });
      store.recordEvent(runId, nodeId, "remembered", `remembered as a win (${e.speedup.toFixed(2)}x)`);
    } catch (err) {
      store.recordEvent(runId, nodeId, "memory_error", `remembering failed: ${(err as Error).message}`);
    }
  }
  return {};
}
