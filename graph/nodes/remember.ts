/** remember: verified wins of the batch (faster than the baseline, or the run's new best) go into the memory of wins. */
import type { GraphDeps } from "../deps.ts";
import type { ExpansionStateUpdate, ExpansionStateValue } from "../state.ts";
import type { Critique } from "../../agents/types.ts";

/** Hands the batch's verified wins to the memory of wins, now with the critic's key ideas. */
export async function remember(state: ExpansionStateValue, deps: GraphDeps): Promise<ExpansionStateUpdate> {
  if (!deps.memory) return {}; // a search without a memory of wins
  for (const [nodeId, e] of Object.entries(state.batch)) {
    if (e.status !== "ok" || e.speedup === null) continue;
    if (e.speedup <= 1 && state.best?.nodeId !== nodeId) continue;
    await rememberWin(nodeId, e.speedup, deps);
  }
  return {};
}

/**
 * Remembers one verified win. Called by verify as soon as a candidate beats the baseline (so a run cut
 * short keeps its wins), and again by the remember node once the critic's key ideas exist; the memory
 * deduplicates by kernel hash and only adds the new ideas.
 */
export async function rememberWin(nodeId: string, speedup: number, deps: GraphDeps): Promise<void> {
  const { store, runId, memory } = deps;
  if (!memory) return;
  const node = store.getNode(nodeId)!;
  const critique = store.getCritique(nodeId) as Critique | null;
  try {
    const outcome = await memory.remember({
      problem: deps.problem,
      runId,
      nodeId,
      source: store.getKernel(nodeId)!,
      speedup,
      tflops: node.tflops,
      gpu: deps.gpu,
      keyIdeas: critique?.keyIdeas.length ? critique.keyIdeas : [node.title].filter(Boolean),
    });
    if ((outcome as { status?: string } | undefined)?.status !== "duplicate")
      store.recordEvent(runId, nodeId, "remembered", `remembered as a win (${speedup.toFixed(2)}x)`);
  } catch (err) {
    store.recordEvent(runId, nodeId, "memory_error", `remembering failed: ${(err as Error).message}`);
  }
}
