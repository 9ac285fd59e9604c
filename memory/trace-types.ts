/** The values the trace store reads and writes. Times are milliseconds since the epoch. */

/** A run's status: `stopped` = ended early by a fault outside it (the model endpoint down), resumable like `interrupted`. */
export type RunStatus = "running" | "done" | "failed" | "interrupted" | "stopped";

/** Why a run ended: a budget or the search itself (graph/budget.ts), or how its process ended. */
export type RunStopReason =
  | "budget:wall"
  | "budget:nodes"
  | "budget:tokens"
  | "budget:cost"
  | "target"
  | "exhausted"
  | "finished"
  | "interrupted"
  | "error"
  | "model endpoint unreachable";

/** One failed attempt of a model call, as the trace keeps it. */
export interface RetryRow {
  attempt: number;
  status?: number;
  errorClass: string;
  message: string;
  delayMs?: number;
}

/**
 * A tree node's status: `root` (the problem itself, no kernel), `coding` (the coder is at work),
 * `coded` (kernel stored, not yet verified), `no_kernel` (the model's reply had no usable kernel),
 * `failed` (the model call failed), or a `VerifyResult` status once verified.
 */
export const NODE_STATUSES = [
  "root",
  "coding",
  "coded",
  "no_kernel",
  "failed",
  "ok",
  "compile_error",
  "runtime_error",
  "wrong_output",
  "timeout",
  "rejected",
] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** Where a node's kernel came from. */
export type NodeOrigin = "root" | "llm" | "offline" | "memory";

/** One search run, as listed by `kforge runs` and the UI. */
export interface RunRow {
  id: string;
  problem: string;
  status: RunStatus;
  stopReason: RunStopReason | null;
  error: string | null;
  config: Record<string, unknown>;
  budget: Record<string, unknown>;
  startedAt: number;
  endedAt: number | null;
  /** Wall time spent searching, summed over resumes. */
  activeMs: number;
  heartbeatAt: number | null;
  pid: number | null;
  bestNode: string | null;
  bestSpeedup: number | null;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costUsd: number;
  llmCalls: number;
  /** Candidate nodes (the root excluded). */
  nodes: number;
  /** Nodes whose kernel verified correct. */
  correct: number;
  /** The cursor for `nodesSince`: it grows with every node change. */
  changeSeq: number;
}

/** A tree node, compact (no long texts): what a 1,000-node tree view needs. */
export interface NodeRow {
  id: string;
  runId: string;
  parentId: string | null;
  label: string;
  depth: number;
  iteration: number;
  title: string;
  status: NodeStatus;
  speedup: number | null;
  tflops: number | null;
  /** One line: the verifier's summary or why the node failed. */
  summary: string;
  /** For wrong_output: worst max-error / allowance over failing checks (null otherwise, or non-finite). */
  errorRatio: number | null;
  hasKernel: boolean;
  origin: NodeOrigin;
  createdAt: number;
  updatedAt: number;
  changeSeq: number;
}

/** One model call with its texts resolved. */
export interface LlmCallDetail {
  id: number;
  nodeId: string | null;
  role: string;
  provider: string;
  model: string;
  prompt: string | null;
  reasoning: string | null;
  response: string | null;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  latencyMs: number;
  costUsd: number;
  attempts: number;
  finishReason: string | null;
  error: string | null;
  /** Why each failed attempt failed (empty when the first attempt answered). */
  retries: RetryRow[];
  createdAt: number;
}

/** Everything the trace keeps about one node. */
export interface NodeDetail {
  node: NodeRow;
  idea: string;
  kernel: string | null;
  /** The parent's kernel (null for the root's children or a parent without kernel), for diffs. */
  parentKernel: string | null;
  /** The plan that proposed this node (made when its parent was expanded). */
  plan: unknown | null;
  /** The plan made when this node itself was expanded, if it was. */
  childPlan: unknown | null;
  llmCalls: LlmCallDetail[];
  verifications: { status: string; speedup: number | null; tflops: number | null; result: unknown; createdAt: number }[];
  profiles: { status: string; outcome: unknown; bottlenecks: unknown | null; costMs: number; createdAt: number }[];
  critiques: { verdict: string; critique: unknown; createdAt: number }[];
  seeds: { winId: string; rank: number; score: number | null; note: string }[];
  events: { kind: string; message: string; createdAt: number }[];
  children: string[];
}

/** A step of the best-speedup-over-time chart. */
export interface BestPoint {
  at: number;
  /** Elapsed search time (ms since run start). */
  elapsedMs: number;
  speedup: number;
  nodeId: string;
}

/** Input of `recordLlmCall`: texts are stored as deduplicated artifacts. */
export interface LlmCallRecord {
  runId: string;
  nodeId: string | null;
  role: string;
  provider: string;
  model: string;
  prompt: string;
  reasoning?: string;
  response?: string;
  promptTokens?: number;
  completionTokens?: number;
  reasoningTokens?: number;
  latencyMs?: number;
  costUsd?: number;
  attempts?: number;
  finishReason?: string | null;
  error?: string | null;
  retries?: RetryRow[];
}

/** Input of `upsertNode`. */
export interface NodeInput {
  id: string;
  runId: string;
  parentId: string | null;
  label: string;
  depth: number;
  iteration: number;
  title?: string;
  idea?: string;
  status: NodeStatus;
  origin?: NodeOrigin;
  summary?: string;
}

/** Totals the budget checks read. */
export interface RunTotals {
  nodes: number;
  correct: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  activeMs: number;
  bestSpeedup: number | null;
  bestNode: string | null;
}

/** One memory-of-wins entry that seeded one node (trace_seeds). */
export interface RunSeed {
  nodeId: string;
  winId: string;
  rank: number;
  score: number | null;
  /** How the win was used ("started from this win's config ...", "in the planner's prompt ..."). */
  note: string;
}

/** One trace event of a run (breaker, resume, budget, interrupt, ...). */
export interface RunEvent {
  nodeId: string | null;
  kind: string;
  message: string;
  createdAt: number;
}
