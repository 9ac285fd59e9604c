/**
 * The trace tables' rows as the read side sees them: zod schemas that turn raw SQLite rows (snake_case
 * columns, JSON held as text) into typed values, so a corrupt or foreign row is a clear error, not a cast.
 */
import { z } from "zod";
import { InfraError } from "../core/errors.ts";
import type { BudgetLimits } from "../graph/budget.ts";
import { NODE_STATUSES, type LlmCallDetail, type NodeRow, type RetryRow, type RunRow, type RunStatus, type RunStopReason } from "./trace-types.ts";

const RUN_STATUSES = ["running", "done", "failed", "interrupted", "stopped"] as const satisfies readonly RunStatus[];
const STOP_REASONS = [
  "budget:wall",
  "budget:nodes",
  "budget:tokens",
  "budget:cost",
  "target",
  "exhausted",
  "finished",
  "interrupted",
  "error",
  "model endpoint unreachable",
] as const satisfies readonly RunStopReason[];
const NODE_ORIGINS = ["root", "llm", "offline", "memory"] as const;

/** A JSON document stored as TEXT, parsed and then checked with `schema`. */
export function jsonText<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "not valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** A run's budget as `kforge search` stored it (the BudgetLimits of graph/budget.ts). */
export const StoredBudget = z
  .object({
    wallMs: z.number().nonnegative(),
    maxNodes: z.number().int().optional(),
    maxTokens: z.number().int().optional(),
    maxCostUsd: z.number().optional(),
    targetSpeedup: z.number().optional(),
  })
  // Limits a newer search records are kept (the UI shows the budget as recorded), not dropped.
  .loose();
// Fails to compile when the stored shape and the search's own type drift apart.
const _budgetIsLimits: (b: z.infer<typeof StoredBudget>) => BudgetLimits = (b) => b;
void _budgetIsLimits;

/** A run as the readers return it: the store's RunRow with its budget parsed. */
export interface ReadRun extends RunRow {
  budget: z.infer<typeof StoredBudget>;
}

const count = z.number().int().nonnegative();

/** A row of `SELECT r.*, nodes, correct FROM trace_runs r`. */
export const RunRecord = z
  .object({
    id: z.string(),
    problem: z.string(),
    status: z.enum(RUN_STATUSES),
    stop_reason: z.enum(STOP_REASONS).nullable(),
    error: z.string().nullable(),
    config: jsonText(z.record(z.string(), z.unknown())),
    budget: jsonText(StoredBudget),
    started_at: z.number(),
    ended_at: z.number().nullable(),
    active_ms: z.number(),
    heartbeat_at: z.number().nullable(),
    pid: z.number().nullable(),
    best_node: z.string().nullable(),
    best_speedup: z.number().nullable(),
    prompt_tokens: count,
    completion_tokens: count,
    reasoning_tokens: count,
    cost_usd: z.number(),
    llm_calls: count,
    nodes: count,
    correct: count,
    change_seq: count,
  })
  .transform(
    (r): ReadRun => ({
      id: r.id,
      problem: r.problem,
      status: r.status,
      stopReason: r.stop_reason,
      error: r.error,
      config: r.config,
      budget: r.budget,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      activeMs: r.active_ms,
      heartbeatAt: r.heartbeat_at,
      pid: r.pid,
      bestNode: r.best_node,
      bestSpeedup: r.best_speedup,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      reasoningTokens: r.reasoning_tokens,
      costUsd: r.cost_usd,
      llmCalls: r.llm_calls,
      nodes: r.nodes,
      correct: r.correct,
      changeSeq: r.change_seq,
    }),
  );

/** A row of the node columns (`has_kernel` is 0/1; `compile_result` the latest verification of a compile error). */
export const NodeRecord = z
  .object({
    id: z.string(),
    run_id: z.string(),
    parent_id: z.string().nullable(),
    label: z.string(),
    depth: count,
    iteration: count,
    title: z.string(),
    status: z.enum(NODE_STATUSES),
    speedup: z.number().nullable(),
    tflops: z.number().nullable(),
    summary: z.string(),
    has_kernel: z.union([z.literal(0), z.literal(1)]),
    error_ratio: z.number().nullable(),
    origin: z.enum(NODE_ORIGINS),
    created_at: z.number(),
    updated_at: z.number(),
    change_seq: count,
  })
  .transform(
    (n): NodeRow => ({
      id: n.id,
      runId: n.run_id,
      parentId: n.parent_id,
      label: n.label,
      depth: n.depth,
      iteration: n.iteration,
      title: n.title,
      status: n.status,
      speedup: n.speedup,
      tflops: n.tflops,
      summary: n.summary,
      errorRatio: n.error_ratio,
      hasKernel: n.has_kernel === 1,
      origin: n.origin,
      createdAt: n.created_at,
      updatedAt: n.updated_at,
      changeSeq: n.change_seq,
    }),
  );

/** One failed attempt of a model call (trace_llm_calls.retries). */
const StoredRetry: z.ZodType<RetryRow> = z.object({
  attempt: z.number().int(),
  status: z.number().int().optional(),
  errorClass: z.string(),
  message: z.string(),
  delayMs: z.number().optional(),
});

/** A row of trace_llm_calls with its texts resolved (prompt, reasoning, response); `retries` absent before schema 4. */
export const CallRecord = z
  .object({
    id: z.number(),
    node_id: z.string().nullable(),
    role: z.string(),
    provider: z.string(),
    model: z.string(),
    prompt: z.string().nullable(),
    reasoning: z.string().nullable(),
    response: z.string().nullable(),
    prompt_tokens: count,
    completion_tokens: count,
    reasoning_tokens: count,
    latency_ms: z.number(),
    cost_usd: z.number(),
    attempts: count,
    finish_reason: z.string().nullable(),
    error: z.string().nullable(),
    retries: jsonText(z.array(StoredRetry)).optional(),
    created_at: z.number(),
  })
  .transform(
    (c): LlmCallDetail => ({
      id: c.id,
      nodeId: c.node_id,
      role: c.role,
      provider: c.provider,
      model: c.model,
      prompt: c.prompt,
      reasoning: c.reasoning,
      response: c.response,
      promptTokens: c.prompt_tokens,
      completionTokens: c.completion_tokens,
      reasoningTokens: c.reasoning_tokens,
      latencyMs: c.latency_ms,
      costUsd: c.cost_usd,
      attempts: c.attempts,
      finishReason: c.finish_reason,
      error: c.error,
      retries: c.retries ?? [],
      createdAt: c.created_at,
    }),
  );

/** A memory-of-wins entry that seeded a node (trace_seeds). */
export const SeedRecord = z
  .object({ node_id: z.string(), win_id: z.string(), rank: count, score: z.number().nullable(), note: z.string() })
  .transform((s) => ({ nodeId: s.node_id, winId: s.win_id, rank: s.rank, score: s.score, note: s.note }));

/** A trace event of a node or a run. */
export const EventRecord = z
  .object({ node_id: z.string().nullable(), kind: z.string(), message: z.string(), created_at: z.number() })
  .transform((e) => ({ nodeId: e.node_id, kind: e.kind, message: e.message, createdAt: e.created_at }));

/** Parses one row, naming the table and row when it does not fit (a database written by something else, or corrupt). */
export function parseRow<T extends z.ZodType>(schema: T, row: unknown, what: string): z.output<T> {
  const r = schema.safeParse(row);
  if (r.success) return r.data;
  const where = r.error.issues.map((i) => `${i.path.join(".") || "(row)"}: ${i.message}`).join("; ");
  throw new InfraError(`the trace database holds an unreadable ${what}: ${where}`, {
    hint: "the file was written by another program or is damaged; check it with sqlite3 (PRAGMA integrity_check)",
  });
}
