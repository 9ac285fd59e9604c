/** verify: every coded candidate of the batch through the verifier (concurrently; the pool spreads them over GPUs). */
import { summarizeResult, type VerifyResult } from "../../tools/verifier/result.ts";
import { InfraError, UserError } from "../../core/errors.ts";
import type { GraphDeps } from "../deps.ts";
import { rememberWin } from "./remember.ts";
import type { BatchEntry, ExpansionStateUpdate, ExpansionStateValue } from "../state.ts";

/** Verifies the batch's coded candidates (a verification recorded before a crash is reused). */
export async function verify(state: ExpansionStateValue, deps: GraphDeps): Promise<ExpansionStateUpdate> {
  const { store, runId } = deps;
  const coded = Object.entries(state.batch)
    .filter(([, e]) => e.status === "coded")
    .map(([id]) => id);
  if (coded.length === 0) return {}; // nothing to verify: every candidate of the batch failed before a kernel
  const updates: Record<string, BatchEntry> = {};
  await Promise.all(
    coded.map(async (nodeId) => {
      const result = store.getVerification(nodeId) ?? (await verifyOne(nodeId, deps));
      if (result === null) {
        const node = store.getNode(nodeId)!;
        updates[nodeId] = { status: node.status, speedup: null, summary: node.summary };
        return;
      }
      // The summary as stored (scrubbed of secrets): the checkpoint is written to the same file.
      updates[nodeId] = { status: result.status, speedup: result.status === "ok" ? result.speedup : null, summary: store.getNode(nodeId)!.summary };
    }),
  );
  const t = store.runTotals(runId);
  const best = t.bestNode && t.bestSpeedup !== null ? { nodeId: t.bestNode, speedup: t.bestSpeedup } : state.best;
  return { batch: updates, best };
}

/** Verifies one stored kernel and records the result; a tool fault on one candidate (not the kernel's) marks the node failed. */
async function verifyOne(nodeId: string, deps: GraphDeps): Promise<VerifyResult | null> {
  const { store, runId } = deps;
  const node = store.getNode(nodeId)!;
  const source = store.getKernel(nodeId);
  if (source === null) throw new Error(`verify: node ${nodeId} has no kernel`);
  deps.progress.activity(nodeId, `verifying ${node.label}: ${node.title}`);
  try {
    const result = await deps.verifier.verify({
      problem: deps.problem,
      source,
      candidateId: nodeId.replace(/[^\w.-]/g, "_"),
      ...(deps.baseline ? { baseline: deps.baseline } : {}),
      signal: deps.signal,
    });
    store.recordVerification(runId, nodeId, result);
    deps.progress.log(`${node.label} ${node.title}: ${summarizeResult(result)}`);
    if (result.status === "ok" && result.speedup !== null && result.speedup > 1) await rememberWin(nodeId, result.speedup, deps);
    return result;
  } catch (err) {
    // The setup is broken (no torch, no GPU, bad config): every candidate would fail, so the run stops (resumable once fixed).
    if (deps.signal.aborted || err instanceof InfraError || err instanceof UserError) throw err;
    const message = `verifier error: ${(err as Error).message}`;
    store.atomically(() => {
      store.setNodeStatus(runId, nodeId, "failed", message.slice(0, 500));
      store.recordEvent(runId, nodeId, "verifier_error", message);
    });
    deps.progress.log(`${node.label}: ${message}`);
    return null;
  } finally {
    deps.progress.activity(nodeId, null);
  }
}
