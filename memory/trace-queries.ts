/**
 * The read side of the trace store: every query `kforge trace`, `kforge export`, `kforge ui` and the
 * search's own agents make of runs and their trees. Prepared statements in one typed object, rows
 * parsed with zod (memory/trace-rows.ts). It never writes and never migrates: migrations belong to
 * the writer (TraceStore), so it works over a read-only connection to a file a search is writing.
 */
import { UserError } from "../core/errors.ts";
import { summarizeResult, VerifyResult } from "../tools/verifier/result.ts";
import type { DB } from "./db.ts";
import { CallRecord, EventRecord, NodeRecord, parseRow, RunRecord, SeedRecord, type ReadRun } from "./trace-rows.ts";
import type { BestPoint, NodeDetail, NodeRow, RunEvent, RunSeed } from "./trace-types.ts";
import { traceMigrations } from "./trace-schema.ts";
import { latestCritique, latestProfile, latestVerification, nodeDetail, recordedPlan, type StoredPlan } from "./trace-detail.ts";
import type { Bottlenecks } from "../agents/profiler/schema.ts";
import type { Critique } from "../agents/critic/schema.ts";
import type { ProfileOutcome } from "../tools/profiler/types.ts";

type Row = Record<string, unknown>;

/** The trace queries over an injected connection (read-only or not); `setup()` prepares them once. */
export class TraceQueries {
  private stmts: ReturnType<TraceQueries["prepare"]> | undefined;

  constructor(readonly db: DB) {}

  /** Checks that the file holds a trace and prepares the statements (safe to call any number of times). */
  setup(): this {
    this.stmts ??= this.prepare();
    return this;
  }

  private prepare() {
    const db = this.db;
    const version = traceVersion(db);
    if (version === 0) throw new UserError(`${db.name} holds no search trace yet`, { hint: "run a search first (kforge search --problem NAME)" });
    if (version > traceMigrations.length) {
      throw new UserError(`${db.name} was written by a newer kforge (trace schema ${version}, this one reads up to ${traceMigrations.length})`, {
        hint: "update this kforge checkout",
      });
    }
    // A file an older kforge wrote (before the writer's next start migrates it) lacks error_ratio.
    const errorRatio = version >= 2 ? "n.error_ratio" : "NULL AS error_ratio";
    const retries = version >= 4 ? ", c.retries" : "";
    const node = `n.id, n.run_id, n.parent_id, n.label, n.depth, n.iteration, n.title, n.status, n.speedup, n.tflops, n.summary,
      n.kernel_hash IS NOT NULL AS has_kernel, ${errorRatio}, n.origin, n.created_at, n.updated_at, n.change_seq,
      CASE WHEN n.status = 'compile_error' THEN (SELECT v.result FROM trace_verifications v WHERE v.node_id = n.id ORDER BY v.id DESC LIMIT 1) END AS compile_result`;
    const run = `r.id, r.problem, r.status, r.stop_reason, r.error, r.config, r.budget, r.started_at, r.ended_at, r.active_ms, r.heartbeat_at,
      r.pid, r.best_node, r.best_speedup, r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cost_usd, r.llm_calls, r.change_seq,
      (SELECT COUNT(*) FROM trace_nodes n WHERE n.run_id = r.id AND n.parent_id IS NOT NULL) AS nodes,
      (SELECT COUNT(*) FROM trace_nodes n WHERE n.run_id = r.id AND n.status = 'ok') AS correct`;
    const text = (column: string) => `(SELECT content FROM trace_artifacts a WHERE a.hash = ${column})`;
    return {
      listRuns: db.prepare(`SELECT ${run} FROM trace_runs r ORDER BY r.started_at DESC LIMIT ?`),
      getRun: db.prepare(`SELECT ${run} FROM trace_runs r WHERE r.id = ?`),
      runIdsLike: db.prepare(`SELECT id FROM trace_runs WHERE substr(id, 1, length(@prefix)) = @prefix ORDER BY started_at DESC LIMIT 6`).pluck(),
      listNodes: db.prepare(`SELECT ${node} FROM trace_nodes n WHERE n.run_id = ? ORDER BY n.created_at, n.id`),
      getNode: db.prepare(`SELECT ${node} FROM trace_nodes n WHERE n.id = ?`),
      nodesSince: db.prepare(`SELECT ${node} FROM trace_nodes n WHERE n.run_id = ? AND n.change_seq > ? ORDER BY n.change_seq`),
      idea: db.prepare(`SELECT idea FROM trace_nodes WHERE id = ?`).pluck(),
      kernel: db.prepare(`SELECT ${text("n.kernel_hash")} FROM trace_nodes n WHERE n.id = ?`).pluck(),
      children: db.prepare(`SELECT id FROM trace_nodes WHERE parent_id = ? ORDER BY id`).pluck(),
      planByIteration: db.prepare(`SELECT node_id, plan FROM trace_plans WHERE run_id = ? AND iteration = ?`),
      planOfNode: db.prepare(`SELECT plan FROM trace_plans WHERE node_id = ? ORDER BY iteration DESC LIMIT 1`).pluck(),
      calls:
        db.prepare(`SELECT c.id, c.node_id, c.role, c.provider, c.model, ${text("c.prompt_hash")} AS prompt, ${text("c.reasoning_hash")} AS reasoning,
        ${text("c.response_hash")} AS response, c.prompt_tokens, c.completion_tokens, c.reasoning_tokens, c.latency_ms, c.cost_usd, c.attempts,
        c.finish_reason, c.error${retries}, c.created_at FROM trace_llm_calls c WHERE c.node_id = ? ORDER BY c.id`),
      verifications: db.prepare(`SELECT status, speedup, tflops, result, created_at FROM trace_verifications WHERE node_id = ? ORDER BY id`),
      profiles: db.prepare(`SELECT status, outcome, bottlenecks, cost_ms, created_at FROM trace_profiles WHERE node_id = ? ORDER BY id`),
      critiques: db.prepare(`SELECT verdict, critique, created_at FROM trace_critiques WHERE node_id = ? ORDER BY id`),
      nodeSeeds: db.prepare(`SELECT node_id, win_id, rank, score, note FROM trace_seeds WHERE node_id = ? ORDER BY rank`),
      runSeeds: db.prepare(
        `SELECT node_id, win_id, rank, score, note FROM trace_seeds WHERE run_id = ? ORDER BY CAST(win_id AS INTEGER), win_id, node_id`,
      ),
      nodeEvents: db.prepare(`SELECT node_id, kind, message, created_at FROM trace_events WHERE node_id = ? ORDER BY id`),
      runEvents: db.prepare(`SELECT node_id, kind, message, created_at FROM trace_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT 1000`),
      bestSeries: db.prepare(`SELECT node_id, speedup, created_at FROM trace_verifications
        WHERE run_id = ? AND status = 'ok' AND speedup IS NOT NULL ORDER BY id`),
    };
  }

  /** The statements (prepared on first use). */
  get s(): ReturnType<TraceQueries["prepare"]> {
    return this.setup().stmts!;
  }

  /** The most recent runs first (default 200), with node and correct counts. */
  listRuns(limit = 200): ReadRun[] {
    return this.s.listRuns.all(limit).map((r) => parseRow(RunRecord, r, "run"));
  }

  /** One run, or null. */
  getRun(id: string): ReadRun | null {
    const row = this.s.getRun.get(id);
    return row ? parseRow(RunRecord, row, `run ${id}`) : null;
  }

  /** Up to six run ids starting with `prefix`, newest first. */
  runIdsStartingWith(prefix: string): string[] {
    return this.s.runIdsLike.all({ prefix }) as string[];
  }

  /** Every node of a run, compact, in creation order. */
  listNodes(runId: string): NodeRow[] {
    return this.s.listNodes.all(runId).map((r) => toNode(r as Row));
  }

  /** One node by id, or by label ("3.2", "root") within `runId`; null when there is none. */
  getNode(idOrLabel: string, runId?: string): NodeRow | null {
    const id = runId && !idOrLabel.startsWith(`${runId}.`) ? `${runId}.${idOrLabel === "root" ? "0" : idOrLabel}` : idOrLabel;
    const row = this.s.getNode.get(id) as Row | undefined;
    const node = row ? toNode(row) : null;
    return node && (runId === undefined || node.runId === runId) ? node : null;
  }

  /** The nodes created or changed after `cursor` (0: all), the run's row, and the cursor to pass next time. */
  nodesSince(runId: string, cursor: number): { nodes: NodeRow[]; run: ReadRun | null; cursor: number } {
    const nodes = this.s.nodesSince.all(runId, cursor).map((r) => toNode(r as Row));
    const last = nodes[nodes.length - 1];
    return { nodes, run: this.getRun(runId), cursor: last ? last.changeSeq : cursor };
  }

  /** The node's idea text ("" when none). */
  idea(nodeId: string): string {
    return (this.s.idea.get(nodeId) as string | undefined) ?? "";
  }

  /** A node's kernel source, or null. */
  kernel(nodeId: string): string | null {
    return (this.s.kernel.get(nodeId) as string | null | undefined) ?? null;
  }

  /** Everything of one node: idea, kernels, plans, model calls with texts, verifications, profiles, critiques, seeds, events. */
  nodeDetail(nodeId: string): NodeDetail | null {
    return nodeDetail(this, nodeId);
  }

  /** The node's latest verification, typed; null when it has none. */
  verification(nodeId: string): VerifyResult | null {
    return latestVerification(this, nodeId);
  }

  /** The critic's latest critique of the node, typed; null when it has none. */
  critique(nodeId: string): Critique | null {
    return latestCritique(this, nodeId);
  }

  /** The node's latest profile outcome and bottlenecks, typed; null when it was not profiled. */
  profile(nodeId: string): { outcome: ProfileOutcome; bottlenecks: Bottlenecks | null } | null {
    return latestProfile(this, nodeId);
  }

  /** The plan recorded for a run's iteration (and the node it expanded), typed; null when none. */
  plan(runId: string, iteration: number): { nodeId: string; plan: StoredPlan } | null {
    return recordedPlan(this, runId, iteration);
  }

  /** Which memory-of-wins entries seeded which nodes of a run, by win then node. */
  runSeeds(runId: string): RunSeed[] {
    return this.s.runSeeds.all(runId).map((r) => parseRow(SeedRecord, r, "seed"));
  }

  /** The best verified speedup over time: one point each time the best improved. */
  bestSeries(runId: string): BestPoint[] {
    const run = this.getRun(runId);
    if (!run) return [];
    const out: BestPoint[] = [];
    for (const r of this.s.bestSeries.all(runId) as { node_id: string; speedup: number; created_at: number }[]) {
      const last = out[out.length - 1];
      if (last && r.speedup <= last.speedup) continue;
      out.push({ at: r.created_at, elapsedMs: r.created_at - run.startedAt, speedup: r.speedup, nodeId: r.node_id });
    }
    return out;
  }

  /** The events of one node, oldest first. */
  nodeEvents(nodeId: string): { kind: string; message: string; createdAt: number }[] {
    return this.s.nodeEvents.all(nodeId).map((r) => {
      const e = parseRow(EventRecord, r, "event");
      return { kind: e.kind, message: e.message, createdAt: e.createdAt };
    });
  }

  /** A run's events after event id `afterId` (at most 1000, oldest first: for logs, tests and the UI). */
  eventsSince(runId: string, afterId = 0): RunEvent[] {
    return this.s.runEvents.all(runId, afterId).map((r) => {
      const e = parseRow(EventRecord, r, "event");
      return { nodeId: e.nodeId, kind: e.kind, message: e.message, createdAt: e.createdAt };
    });
  }

  /** The model calls of one node, with their texts. */
  nodeCalls(nodeId: string): NodeDetail["llmCalls"] {
    return this.s.calls.all(nodeId).map((r) => parseRow(CallRecord, r, "model call"));
  }
}

const shared = new WeakMap<DB, TraceQueries>();

/** The queries over `db`, prepared once per connection (for callers that hold the writer's connection). */
export function traceQueries(db: DB): TraceQueries {
  let q = shared.get(db);
  if (!q) {
    q = new TraceQueries(db);
    shared.set(db, q);
  }
  return q;
}

/** The trace schema version a file holds (0: no trace tables). */
export function traceVersion(db: DB): number {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kforge_migrations'").get();
  if (!hasTable) return 0;
  const row = db.prepare("SELECT MAX(version) AS v FROM kforge_migrations WHERE component = 'trace'").get() as { v: number | null };
  return row.v ?? 0;
}

/** A node row; a compile error's one-line summary comes from its message (older summaries stopped before it). */
function toNode(row: Row): NodeRow {
  const node = parseRow(NodeRecord, row, "node");
  const stored = row["compile_result"];
  if (typeof stored !== "string") return node;
  // A verification this kforge cannot read keeps the summary stored with the node.
  const result = VerifyResult.safeParse(parseJson(stored));
  return result.success ? { ...node, summary: summarizeResult(result.data) } : node;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
