/**
 * The trace store: ALL SQL of runs and their search trees. One class over an injected better-sqlite3
 * database (the kforge file, WAL), idempotent `setup()`, prepared statements. Writes happen as events
 * occur, each in one short transaction, so a reader (the UI, `kforge trace`) never sees half a change.
 * Every text written passes the store's redactor: no configured secret reaches the file.
 */
import type { Statement } from "better-sqlite3";
import { createHash } from "node:crypto";
import { applyMigrations, type DB } from "./db.ts";
import { traceMigrations } from "./trace-schema.ts";
import type {
  BestPoint,
  LlmCallRecord,
  NodeDetail,
  NodeInput,
  NodeRow,
  NodeStatus,
  RunEvent,
  RunSeed,
  RunStatus,
  RunStopReason,
  RunTotals,
} from "./trace-types.ts";
import type { VerifyResult } from "../tools/verifier/result.ts";
import { traceQueries, type TraceQueries } from "./trace-queries.ts";
import type { ReadRun } from "./trace-rows.ts";
import type { StoredPlan } from "./trace-detail.ts";
import type { Critique } from "../agents/critic/schema.ts";
import type { Bottlenecks } from "../agents/profiler/schema.ts";
import type { ProfileOutcome } from "../tools/profiler/types.ts";
import { NO_REDACTION, type Redactor } from "../core/redact.ts";
import { summarizeResult } from "../tools/verifier/result.ts";

export type * from "./trace-types.ts";

type Stmt = Statement<unknown[]>;

/** SHA-256 of a text: the key of an artifact. */
export function artifactHash(content: string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Reads and writes runs, tree nodes, LLM calls, verifications, profiles, critiques and artifacts. */
export class TraceStore {
  private s: Record<string, Stmt> = {};
  private isSetup = false;

  private readonly redactor: Redactor;

  /** `redactor` scrubs the configured secrets from everything written (a search passes the config's). */
  constructor(
    readonly db: DB,
    opts: { redactor?: Redactor } = {},
  ) {
    this.redactor = opts.redactor ?? NO_REDACTION;
  }

  private t(text: string): string {
    return this.redactor.text(text);
  }

  private json(value: unknown): string {
    return JSON.stringify(this.redactor.value(value));
  }

  /** Creates the tables (versioned migrations, idempotent) and prepares the statements. */
  setup(): this {
    if (this.isSetup) return this;
    if (!this.db.readonly) applyMigrations(this.db, "trace", traceMigrations);
    const p = (sql: string): Stmt => this.db.prepare<unknown[]>(sql);
    this.s = {
      insertRun: p(`INSERT INTO trace_runs (id, problem, config, status, budget, started_at, heartbeat_at, pid)
        VALUES (@id, @problem, @config, 'running', @budget, @now, @now, @pid)`),
      setRunStatus: p(`UPDATE trace_runs SET status = @status, stop_reason = COALESCE(@stopReason, stop_reason),
        error = @error, ended_at = CASE WHEN @status = 'running' THEN NULL ELSE @now END,
        pid = CASE WHEN @status = 'running' THEN @pid ELSE NULL END, heartbeat_at = @now WHERE id = @id`),
      setBaseline: p(`UPDATE trace_runs SET baseline = ? WHERE id = ?`),
      setBudget: p(`UPDATE trace_runs SET budget = ? WHERE id = ?`),
      getBaseline: p(`SELECT baseline FROM trace_runs WHERE id = ?`),
      heartbeat: p(`UPDATE trace_runs SET heartbeat_at = @now, active_ms = MAX(active_ms, @activeMs) WHERE id = @id`),
      bumpSeq: p(`UPDATE trace_runs SET change_seq = change_seq + 1 WHERE id = ? RETURNING change_seq`),
      putArtifact: p(`INSERT OR IGNORE INTO trace_artifacts (hash, kind, bytes, content, created_at) VALUES (?, ?, ?, ?, ?)`),
      getArtifact: p(`SELECT content FROM trace_artifacts WHERE hash = ?`),
      upsertNode: p(`INSERT INTO trace_nodes (id, run_id, parent_id, label, depth, iteration, title, idea, status, origin,
          summary, created_at, updated_at, change_seq)
        VALUES (@id, @runId, @parentId, @label, @depth, @iteration, @title, @idea, @status, @origin, @summary, @now, @now, @seq)
        ON CONFLICT(id) DO UPDATE SET title = excluded.title, idea = excluded.idea, status = excluded.status,
          origin = excluded.origin, summary = excluded.summary, updated_at = excluded.updated_at, change_seq = excluded.change_seq`),
      setNodeKernel: p(`UPDATE trace_nodes SET kernel_hash = @hash, status = 'coded', origin = @origin, summary = '',
        updated_at = @now, change_seq = @seq WHERE id = @id`),
      setNodeStatus: p(`UPDATE trace_nodes SET status = @status, speedup = @speedup, tflops = @tflops, summary = @summary,
        error_ratio = @errorRatio, updated_at = @now, change_seq = @seq WHERE id = @id`),
      insertCall: p(`INSERT INTO trace_llm_calls (run_id, node_id, role, provider, model, prompt_hash, reasoning_hash, response_hash,
          prompt_tokens, completion_tokens, reasoning_tokens, latency_ms, cost_usd, attempts, finish_reason, error, retries, created_at)
        VALUES (@runId, @nodeId, @role, @provider, @model, @promptHash, @reasoningHash, @responseHash, @promptTokens,
          @completionTokens, @reasoningTokens, @latencyMs, @costUsd, @attempts, @finishReason, @error, @retries, @now)`),
      addRunUsage: p(`UPDATE trace_runs SET prompt_tokens = prompt_tokens + @promptTokens, completion_tokens = completion_tokens + @completionTokens,
        reasoning_tokens = reasoning_tokens + @reasoningTokens, cost_usd = cost_usd + @costUsd, llm_calls = llm_calls + 1 WHERE id = @runId`),
      insertVerification: p(`INSERT INTO trace_verifications (run_id, node_id, status, speedup, tflops, result, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      setBest: p(`UPDATE trace_runs SET best_node = @nodeId, best_speedup = @speedup
        WHERE id = @runId AND (best_speedup IS NULL OR best_speedup < @speedup)`),
      insertProfile: p(
        `INSERT INTO trace_profiles (run_id, node_id, status, outcome, bottlenecks, cost_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      setBottlenecks: p(`UPDATE trace_profiles SET bottlenecks = ? WHERE id = (SELECT MAX(id) FROM trace_profiles WHERE node_id = ?)`),
      insertCritique: p(`INSERT INTO trace_critiques (run_id, node_id, verdict, critique, created_at) VALUES (?, ?, ?, ?, ?)`),
      upsertPlan: p(`INSERT INTO trace_plans (run_id, node_id, iteration, plan, created_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(run_id, iteration) DO UPDATE SET node_id = excluded.node_id, plan = excluded.plan`),
      insertSeed: p(`INSERT OR IGNORE INTO trace_seeds (run_id, node_id, win_id, rank, score, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      insertEvent: p(`INSERT INTO trace_events (run_id, node_id, kind, message, created_at) VALUES (?, ?, ?, ?, ?)`),
    };
    this.isSetup = true;
    return this;
  }

  private st(name: string): Stmt {
    const s = this.s[name];
    if (!s) throw new Error(`TraceStore: call setup() first (${name})`);
    return s;
  }

  /** Runs `fn` in one transaction: records that must appear together (or not at all after a crash). */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---------------------------------------------------------------- runs (write)

  /** Starts a run record (status running). */
  createRun(r: { id: string; problem: string; config: unknown; budget: unknown; now?: number }): void {
    const now = r.now ?? Date.now();
    this.st("insertRun").run({ id: r.id, problem: r.problem, config: this.json(r.config), budget: JSON.stringify(r.budget), now, pid: process.pid });
  }

  /** Sets a run's status; `running` records this process's pid, the others record the end time. */
  setRunStatus(id: string, status: RunStatus, opts: { stopReason?: RunStopReason; error?: string } = {}): void {
    this.st("setRunStatus").run({
      id,
      status,
      stopReason: opts.stopReason ?? null,
      error: opts.error === undefined ? null : this.t(opts.error),
      now: Date.now(),
      pid: process.pid,
    });
  }

  /** Records that the run's process is alive and how much search time it has spent in total. */
  heartbeat(id: string, activeMs: number): void {
    this.st("heartbeat").run({ id, now: Date.now(), activeMs: Math.round(activeMs) });
  }

  /** Replaces a run's budget (`kforge resume RUN --budget`), so later resumes and `kforge runs` see it. */
  setBudget(id: string, budget: unknown): void {
    this.st("setBudget").run(this.json(budget), id);
  }

  /** Keeps the baseline timings measured for a run, so a resume reuses them. */
  setBaseline(id: string, baseline: unknown): void {
    this.st("setBaseline").run(this.json(baseline), id);
  }

  /** The run's baseline timings, or null when none were measured. */
  getBaseline(id: string): unknown | null {
    const row = this.st("getBaseline").get(id) as { baseline: string | null } | undefined;
    return row?.baseline ? JSON.parse(row.baseline) : null;
  }

  // ---------------------------------------------------------------- artifacts

  /** Stores a text once (deduplicated by sha256 of the scrubbed text) and returns its hash. */
  putArtifact(text: string, kind: "kernel" | "prompt" | "reasoning" | "response" | "text"): string {
    const content = this.t(text);
    const hash = artifactHash(content);
    this.st("putArtifact").run(hash, kind, Buffer.byteLength(content), content, Date.now());
    return hash;
  }

  /** The text of an artifact, or null. */
  getArtifact(hash: string | null | undefined): string | null {
    if (!hash) return null;
    const row = this.st("getArtifact").get(hash) as { content: string } | undefined;
    return row?.content ?? null;
  }

  // ---------------------------------------------------------------- nodes (write)

  private nextSeq(runId: string): number {
    return (this.st("bumpSeq").get(runId) as { change_seq: number }).change_seq;
  }

  /** Creates a node or updates its idea/status (idempotent: ids are deterministic, so a re-run task rewrites its own row). */
  upsertNode(n: NodeInput): void {
    this.db.transaction(() => {
      this.st("upsertNode").run({
        id: n.id,
        runId: n.runId,
        parentId: n.parentId,
        label: n.label,
        depth: n.depth,
        iteration: n.iteration,
        title: this.t(n.title ?? ""),
        idea: this.t(n.idea ?? ""),
        status: n.status,
        origin: n.origin ?? "llm",
        summary: this.t(n.summary ?? ""),
        now: Date.now(),
        seq: this.nextSeq(n.runId),
      });
    })();
  }

  /** Stores a node's kernel source (status becomes `coded`). */
  setNodeKernel(runId: string, nodeId: string, source: string, origin: "llm" | "offline" | "memory" = "llm"): void {
    this.db.transaction(() => {
      const hash = this.putArtifact(source, "kernel");
      this.st("setNodeKernel").run({ id: nodeId, hash, origin, now: Date.now(), seq: this.nextSeq(runId) });
    })();
  }

  /** Sets a node's status and one-line summary (for failures without a verification, e.g. `no_kernel`). */
  setNodeStatus(
    runId: string,
    nodeId: string,
    status: NodeStatus,
    summary: string,
    score: { speedup?: number | null; tflops?: number | null } = {},
  ): void {
    this.db.transaction(() => {
      this.st("setNodeStatus").run({
        id: nodeId,
        status,
        summary: this.t(summary),
        speedup: score.speedup ?? null,
        tflops: score.tflops ?? null,
        errorRatio: null,
        now: Date.now(),
        seq: this.nextSeq(runId),
      });
    })();
  }

  // ---------------------------------------------------------------- events of a node (write)

  /** Records one model call (texts as artifacts) and adds its usage to the run's totals. Returns the call id. */
  recordLlmCall(c: LlmCallRecord): number {
    return this.db.transaction(() => {
      const usage = {
        promptTokens: c.promptTokens ?? 0,
        completionTokens: c.completionTokens ?? 0,
        reasoningTokens: c.reasoningTokens ?? 0,
        costUsd: c.costUsd ?? 0,
      };
      const info = this.st("insertCall").run({
        runId: c.runId,
        nodeId: c.nodeId,
        role: c.role,
        provider: c.provider,
        model: c.model,
        promptHash: this.putArtifact(c.prompt, "prompt"),
        reasoningHash: c.reasoning ? this.putArtifact(c.reasoning, "reasoning") : null,
        responseHash: c.response ? this.putArtifact(c.response, "response") : null,
        ...usage,
        latencyMs: c.latencyMs ?? 0,
        attempts: c.attempts ?? 1,
        finishReason: c.finishReason ?? null,
        error: c.error == null ? null : this.t(c.error),
        retries: this.json(c.retries ?? []),
        now: Date.now(),
      });
      this.st("addRunUsage").run({ runId: c.runId, ...usage });
      return Number(info.lastInsertRowid);
    })();
  }

  /** Records a verification; sets the node's status, score and summary, and the run's best. */
  recordVerification(runId: string, nodeId: string, given: VerifyResult): void {
    const result = this.redactor.value(given);
    const speedup = result.status === "ok" ? result.speedup : null;
    const tflops = result.status === "ok" ? result.tflops : null;
    this.db.transaction(() => {
      const now = Date.now();
      this.st("insertVerification").run(runId, nodeId, result.status, speedup, tflops, JSON.stringify(result), now);
      this.st("setNodeStatus").run({
        id: nodeId,
        status: result.status,
        summary: summarizeResult(result),
        speedup,
        tflops,
        errorRatio: errorRatio(result),
        now,
        seq: this.nextSeq(runId),
      });
      if (speedup !== null) this.st("setBest").run({ runId, nodeId, speedup });
    })();
  }

  /** Records a profile outcome (and, later, the profiler agent's bottlenecks via `setBottlenecks`). */
  recordProfile(runId: string, nodeId: string, outcome: { status: string; costMs: number }, bottlenecks: unknown = null): void {
    this.st("insertProfile").run(
      runId,
      nodeId,
      outcome.status,
      this.json(outcome),
      bottlenecks === null ? null : this.json(bottlenecks),
      outcome.costMs,
      Date.now(),
    );
  }

  /** Attaches the profiler agent's analysis to the node's latest profile. */
  setBottlenecks(nodeId: string, bottlenecks: unknown): void {
    this.st("setBottlenecks").run(this.json(bottlenecks), nodeId);
  }

  /** Records the critic's verdict on a node. */
  recordCritique(runId: string, nodeId: string, critique: { verdict: string }): void {
    this.st("insertCritique").run(runId, nodeId, this.t(critique.verdict), this.json(critique), Date.now());
  }

  /** Records the plan made when `nodeId` was expanded at `iteration` (one plan per iteration; a re-run replaces it). */
  recordPlan(runId: string, nodeId: string, iteration: number, plan: unknown): void {
    this.st("upsertPlan").run(runId, nodeId, iteration, this.json(plan), Date.now());
  }

  /** Records that a memory-of-wins entry seeded a node's prompt (or the node itself). */
  recordSeed(runId: string, nodeId: string, seed: { winId: string; rank: number; score?: number | null; note?: string }): void {
    this.st("insertSeed").run(runId, nodeId, seed.winId, seed.rank, seed.score ?? null, this.t(seed.note ?? ""), Date.now());
  }

  /** Records something worth seeing in the trace (profiling unavailable, a resume, a model failure...). */
  recordEvent(runId: string, nodeId: string | null, kind: string, message: string): void {
    this.st("insertEvent").run(runId, nodeId, kind, this.t(message), Date.now());
  }

  // ---------------------------------------------------------------- reads
  // Every read goes through the read side (memory/trace-queries.ts) over this store's connection: one set of
  // SQL and row parsing for the writer, `kforge trace`, export and the UI. These forwards keep the writer's
  // callers (the search) on one object.

  /** The read side over this store's connection (prepared once per connection, after setup()'s migrations). */
  get queries(): TraceQueries {
    this.setup();
    return traceQueries(this.db);
  }

  /** The most recent runs first (default 200), with node and correct counts. */
  listRuns(limit = 200): ReadRun[] {
    return this.queries.listRuns(limit);
  }

  /** One run, or null. */
  getRun(id: string): ReadRun | null {
    return this.queries.getRun(id);
  }

  /** Counts and usage of a run, for budget checks. */
  runTotals(id: string): RunTotals {
    const r = this.getRun(id);
    if (!r) throw new Error(`no run ${id}`);
    return {
      nodes: r.nodes,
      correct: r.correct,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      costUsd: r.costUsd,
      activeMs: r.activeMs,
      bestSpeedup: r.bestSpeedup,
      bestNode: r.bestNode,
    };
  }

  /** Every node of a run, compact (no long texts), in creation order: the whole tree for a 1,000+ node view. */
  listNodes(runId: string): NodeRow[] {
    return this.queries.listNodes(runId);
  }

  /** One node's compact row, or null. Accepts a node id or a run's label ("3.2") with `runId`. */
  getNode(idOrLabel: string, runId?: string): NodeRow | null {
    return this.queries.getNode(idOrLabel, runId);
  }

  /** The node's idea text. */
  getIdea(nodeId: string): string {
    return this.queries.idea(nodeId);
  }

  /** A node's kernel source, or null. */
  getKernel(nodeId: string): string | null {
    return this.queries.kernel(nodeId);
  }

  /** A node's latest verification, typed, or null. */
  getVerification(nodeId: string): VerifyResult | null {
    return this.queries.verification(nodeId);
  }

  /** A node's latest critique, typed, or null. */
  getCritique(nodeId: string): Critique | null {
    return this.queries.critique(nodeId);
  }

  /** A node's latest profile (outcome and bottlenecks), typed, or null. */
  getProfile(nodeId: string): { outcome: ProfileOutcome; bottlenecks: Bottlenecks | null } | null {
    return this.queries.profile(nodeId);
  }

  /** The plan recorded for a run's iteration (and the node it expanded), typed, or null. */
  getPlan(runId: string, iteration: number): { nodeId: string; plan: StoredPlan } | null {
    return this.queries.plan(runId, iteration);
  }

  /** Which memory-of-wins entries seeded which nodes of a run, by win then node. */
  runSeeds(runId: string): RunSeed[] {
    return this.queries.runSeeds(runId);
  }

  /** Everything of one node: idea, kernel and its parent's kernel (for diffs), plans, model calls with texts, verifications, profiles, critiques, seeds, events. */
  getNodeDetail(nodeId: string): NodeDetail | null {
    return this.queries.nodeDetail(nodeId);
  }

  /** The best verified speedup over time: one point each time the best improved. */
  bestSeries(runId: string): BestPoint[] {
    return this.queries.bestSeries(runId);
  }

  /** Live updates: the nodes created or changed after `cursor` (0 for all), the run's row, and the next cursor. */
  nodesSince(runId: string, cursor: number): { nodes: NodeRow[]; run: ReadRun | null; cursor: number } {
    return this.queries.nodesSince(runId, cursor);
  }

  /** The run's trace events after event id `afterId` (for logs and the UI). */
  eventsSince(runId: string, afterId = 0): RunEvent[] {
    return this.queries.eventsSince(runId, afterId);
  }
}

/** Wrong output's worst max-error / allowance over failing checks (null when non-finite or not wrong_output). */
export function errorRatio(r: VerifyResult): number | null {
  if (r.status !== "wrong_output") return null;
  let worst = 0;
  for (const c of r.checks) {
    if (c.passed) continue;
    if (c.maxError === null || !Number.isFinite(c.maxError)) return null;
    worst = Math.max(worst, c.maxError / Math.max(c.allowance, 1e-12));
  }
  return worst;
}
