/** Reads what the agents need about nodes from the trace store. */
import type { NodeRow } from "../memory/trace-types.ts";
import type { TraceStore } from "../memory/trace-store.ts";
import { traceQueries } from "../memory/trace-queries.ts";
import type { Exemplar, NodeView } from "../agents/types.ts";
import type { GraphDeps } from "./deps.ts";

/** A node with its kernel, verification, critique and profile. */
export function loadView(store: TraceStore, nodeId: string): NodeView {
  const row = store.getNode(nodeId);
  if (!row) throw new Error(`trace has no node ${nodeId}`);
  const q = traceQueries(store.db);
  const p = q.profile(nodeId);
  const outcome = p?.outcome;
  return {
    row,
    idea: store.getIdea(nodeId),
    kernel: store.getKernel(nodeId),
    verification: q.verification(nodeId),
    critique: q.critique(nodeId),
    profile: outcome
      ? {
          summary: outcome.status === "ok" ? outcome.summary : null,
          note: outcome.status === "ok" ? null : `${outcome.status}: ${outcome.reason}`,
          bottlenecks: p!.bottlenecks,
        }
      : null,
  };
}

/** Root → node (inclusive), compact. */
export function ancestry(nodes: Map<string, NodeRow>, nodeId: string): NodeRow[] {
  const out: NodeRow[] = [];
  for (let cur = nodes.get(nodeId); cur; cur = cur.parentId ? nodes.get(cur.parentId) : undefined) out.unshift(cur);
  return out;
}

const exemplarCache = new WeakMap<GraphDeps, Promise<Exemplar[]>>();

/** The memory's most relevant wins for this problem, retrieved once per process and run. */
export function exemplarsFor(deps: GraphDeps): Promise<Exemplar[]> {
  let p = exemplarCache.get(deps);
  if (!p) {
    p = (async () => {
      if (!deps.memory || deps.options.exemplars <= 0) return [];
      try {
        return await deps.memory.retrieve(deps.problem, { k: deps.options.exemplars, ...(deps.gpu ? { gpu: deps.gpu } : {}) });
      } catch (err) {
        deps.store.recordEvent(deps.runId, null, "memory_error", `retrieving prior wins failed: ${(err as Error).message}`);
        return [];
      }
    })();
    exemplarCache.set(deps, p);
  }
  return p;
}
