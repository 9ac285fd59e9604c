/**
 * What the trace explorer shows, shared by `kforge trace`, `kforge export` and the web page: the trace
 * store's row types, how statuses group for colours and filters, and the compact tree form the page loads.
 */
import type { TraceQueries } from "../memory/trace-queries.ts";
import type { NodeRow, NodeStatus, RunRow } from "../memory/trace-types.ts";

export type { BestPoint, LlmCallDetail, NodeDetail, NodeRow, NodeStatus, RunRow } from "../memory/trace-types.ts";

/** Every node status, in the order legends list them. */
export const NODE_STATUSES: readonly NodeStatus[] = [
  "ok",
  "wrong_output",
  "compile_error",
  "runtime_error",
  "timeout",
  "rejected",
  "no_kernel",
  "failed",
  "coding",
  "coded",
  "root",
];

/** Statuses of nodes still in flight (their outcome is not known yet). */
export function isPending(status: NodeStatus): boolean {
  return status === "coding" || status === "coded";
}

/** The tree in compact form for the web page: one tuple per node (a 1,000-node tree is ~100 KB). */
export type CompactNode = [
  id: string,
  parentId: string | null,
  label: string,
  status: NodeStatus,
  speedup: number | null,
  title: string,
  /** Milliseconds from the run's start to the node's creation. */
  elapsedMs: number,
  /** One line: the verifier's summary or why the node failed. */
  summary: string,
];

/** A batch of the tree: every node (no cursor given) or those new or changed since a cursor. */
export interface TreeBatch {
  run: RunRow;
  nodes: CompactNode[];
  /** Pass back as `since` to get only what changed after this batch. */
  cursor: number;
}

/** Packs a node into its compact tuple. */
export function compactNode(n: NodeRow, runStartedAt: number): CompactNode {
  return [n.id, n.parentId, n.label, n.status, n.speedup, n.title, Math.max(0, n.createdAt - runStartedAt), n.summary];
}

/** All nodes (since 0, in creation order) or those changed after `since`, with the cursor to pass next. */
export function treeBatch(q: TraceQueries, runId: string, since: number): TreeBatch {
  const { nodes, run, cursor } = q.nodesSince(runId, since);
  if (!run) throw new Error(`no run ${runId}`);
  const sorted = since === 0 ? [...nodes].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id, "en", { numeric: true })) : nodes;
  return { run, nodes: sorted.map((n) => compactNode(n, run.startedAt)), cursor };
}

/** What the page's side panel gets for one node: the store's detail plus the diff against the parent's kernel. */
export interface NodePanelData {
  detail: import("../memory/trace-types.ts").NodeDetail;
  /** Unified diff of the parent's kernel against this one; null when either has no kernel. */
  diff: string | null;
  /** The parent's short label, for the diff's title. */
  parentLabel: string | null;
}
