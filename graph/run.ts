/**
 * Running a search: create a run (record + root node), then drive the compiled graph with the
 * LangGraph SQLite checkpointer (same database file, durability "sync") until the budget ends it,
 * Ctrl-C interrupts it, or it fails. A killed run (kill -9 included) resumes from its last
 * checkpoint; node ids are deterministic and every node checks the trace before redoing work.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import type { DB } from "../memory/db.ts";
import type { TraceStore } from "../memory/trace-store.ts";
import type { RunRow, RunStopReason } from "../memory/trace-types.ts";
import { describeError, EndpointUnreachableError, UserError } from "../core/errors.ts";
import { expansionGraphBuilder, searchGraphBuilder } from "./graph.ts";
import type { GraphDeps, SearchOptions } from "./deps.ts";
import { wallGraceMs, type BudgetLimits } from "./budget.ts";
import { LanesMeter } from "./lanes-meter.ts";
import { ExpansionRunner } from "./expansions.ts";
import { inflightTarget } from "./inflight.ts";

/** Everything a run needs besides its id (built by the CLI, or by tests and benchmarks with their own edges). */
export type SearchSetup = Omit<GraphDeps, "runId" | "elapsedMs" | "signal" | "lanes" | "expansions"> & {
  db: DB;
  signal: AbortSignal;
  /** Aborted when the model endpoint's breaker gave up (its reason an EndpointUnreachableError): the run stops, resumable. */
  endpointDown?: AbortSignal;
  /**
   * Verification lanes (candidates verified at once): the verifier's GPUs or workers (default 1). A
   * verifier already wrapped in a LanesMeter keeps its own (a benchmark reads it through the run).
   */
  lanes?: number;
  /** How many lanes there are now, asked every LANE_REFRESH_MS while the run lasts (remote workers come and go). */
  countLanes?: () => Promise<number>;
  /** How often `countLanes` is asked (default LANE_REFRESH_MS). */
  laneRefreshMs?: number;
};

/** How often a run with remote workers counts its lanes again. */
export const LANE_REFRESH_MS = 10_000;

/** How the pipeline went in one session: lane utilisation and expansions in flight. */
export interface PipelineSummary {
  lanes: number;
  /** Busy lane-time over lanes × this session's search time. */
  utilisation: number;
  verifications: number;
  meanVerifyMs: number | null;
  meanLaneWaitMs: number | null;
  /** The most expansions in flight at once, and the number the search aimed for at the end. */
  peakInflight: number;
  inflightTarget: number;
}

/** What `kforge search` prints at the end (and as --json). */
export interface SearchSummary {
  runId: string;
  problem: string;
  status: RunRow["status"];
  stopReason: RunStopReason | null;
  error: string | null;
  bestNode: string | null;
  bestLabel: string | null;
  bestSpeedup: number | null;
  nodes: number;
  correct: number;
  tokens: number;
  costUsd: number;
  elapsedMs: number;
  /** This session's pipeline (absent when the summary is read from the trace alone). */
  pipeline?: PipelineSummary;
}

/** How often the run's heartbeat and search time are written (kforge runs tells live from dead runs by it). */
export const HEARTBEAT_MS = 5_000;

/**
 * LangGraph's recursion limit counts supersteps per invoke (default 25) and would end a search after
 * a dozen expansions (select and collect are two supersteps each). The budget (select → graph/budget.ts) is the loop's
 * real bound, so this is only a backstop against a bug that loops without spending anything: a million
 * expansions, far past any budget a run can be given.
 */
const MAX_SUPERSTEPS = 2 * 1_000_000;

/** A new run id: sortable by start time, unique enough to share a database. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${t}-${randomBytes(2).toString("hex")}`;
}

/** Records a new run and its root node. `config` is whatever a resume needs to rebuild the setup. */
export function createRun(
  store: TraceStore,
  r: { runId: string; problem: string; limits: BudgetLimits; options: SearchOptions; config: Record<string, unknown> },
): void {
  store.atomically(() => {
    store.createRun({ id: r.runId, problem: r.problem, config: { ...r.config, options: r.options }, budget: r.limits });
    store.upsertNode({
      id: `${r.runId}.0`,
      runId: r.runId,
      parentId: null,
      label: "root",
      depth: 0,
      iteration: 0,
      title: r.problem,
      status: "root",
      origin: "root",
    });
  });
}

/** Refuses to drive a run another live process is driving. */
export function assertResumable(run: RunRow): void {
  if (run.status === "done")
    throw new UserError(`run ${run.id} is already done (${run.stopReason ?? "finished"})`, { hint: "start a new one with `kforge search`" });
  if (run.status === "running" && run.pid !== null && run.pid !== process.pid && processAlive(run.pid)) {
    throw new UserError(`run ${run.id} is being driven by process ${run.pid}`, { hint: "stop that process first (Ctrl-C), then resume" });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Drives run `runId` from its last checkpoint (or from the start) until it ends; never leaves it marked running. */
export async function driveRun(runId: string, setup: SearchSetup): Promise<SearchSummary> {
  const { store, db } = setup;
  const run = store.getRun(runId);
  if (!run) throw new UserError(`no run ${runId} in ${db.name}`, { hint: "list runs with `kforge runs`" });
  assertResumable(run);
  const checkpointer = new SqliteSaver(db);
  await refuseOldCheckpoint(checkpointer, runId);
  const resumed = run.pid !== process.pid;
  store.setRunStatus(runId, "running");
  if (resumed)
    store.recordEvent(
      runId,
      null,
      "resume",
      `resumed after ${Math.round(run.activeMs / 1000)}s of search (was ${run.status}${run.status === "running" ? ": its process died" : ""})`,
    );

  const sessionStart = Date.now();
  const elapsedMs = () => run.activeMs + (Date.now() - sessionStart);
  const controller = new AbortController();
  // Every in-flight model call, verification and graph task of every expansion in flight listens on it.
  setMaxListeners(10_000, controller.signal);
  let cause: "user" | "deadline" | "endpoint" | null = null;
  const onUserAbort = () => {
    cause ??= "user";
    controller.abort(setup.signal.reason);
  };
  // Stopping on a dead endpoint goes through the same abort as Ctrl-C: every task in flight ends cleanly.
  const onEndpointDown = () => {
    cause ??= "endpoint";
    controller.abort(setup.endpointDown?.reason);
  };
  if (setup.signal.aborted) onUserAbort();
  setup.signal.addEventListener("abort", onUserAbort, { once: true });
  if (setup.endpointDown?.aborted) onEndpointDown();
  setup.endpointDown?.addEventListener("abort", onEndpointDown, { once: true });
  // Work in flight at the deadline gets a grace period, then is cut (an R1 call can take many minutes).
  const deadline = setTimeout(
    () => {
      cause ??= "deadline";
      controller.abort(new Error("wall-time budget spent"));
    },
    Math.max(0, setup.limits.wallMs + wallGraceMs(setup.limits) - run.activeMs),
  );
  const heartbeat = setInterval(() => store.heartbeat(runId, elapsedMs()), HEARTBEAT_MS);
  deadline.unref();
  heartbeat.unref();

  const graph = searchGraphBuilder.compile({ checkpointer });
  const lanes = setup.verifier instanceof LanesMeter ? setup.verifier : new LanesMeter(setup.verifier, setup.lanes ?? 1);
  const expansions = new ExpansionRunner(expansionGraphBuilder.compile({ checkpointer }), checkpointer, lanes, () => deps);
  const deps: GraphDeps = { ...setup, verifier: lanes, lanes, expansions, runId, elapsedMs, signal: controller.signal };
  const pipelineStatus = () => ({
    lanes: lanes.stats(),
    expansions: expansions.running(),
    target: inflightTarget(setup.options.inflight, expansions.measures()),
  });
  setup.progress.pipeline?.(pipelineStatus);
  const recount = setup.countLanes
    ? setInterval(() => {
        void setup.countLanes!()
          .then((n) => {
            if (n !== lanes.lanes) {
              store.recordEvent(runId, null, "lanes", `verification lanes: ${lanes.lanes} → ${n}`);
              lanes.setLanes(n);
            }
          })
          .catch(() => {}); // the queue is briefly unreachable: keep the lanes as they are
      }, setup.laneRefreshMs ?? LANE_REFRESH_MS)
    : undefined;
  recount?.unref();
  const laneMsBefore = lanes.busyLaneMs();
  const laneTimeBefore = lanes.laneMs();
  const thread = { configurable: { thread_id: runId } };
  let pipeline: PipelineSummary | undefined;
  try {
    const saved = await checkpointer.getTuple(thread);
    const final = await graph.invoke(saved ? null : { runId, problem: setup.problem.spec.name }, {
      ...thread,
      // LangGraph types the context's optional fields as present-but-undefined: name them.
      context: { ...deps, spend: deps.spend, baseline: deps.baseline },
      durability: "sync",
      recursionLimit: MAX_SUPERSTEPS,
      signal: controller.signal,
    });
    store.setRunStatus(runId, "done", { stopReason: final.stop ?? "finished" });
  } catch (err) {
    if (cause === "endpoint" || isEndpointDown(err)) {
      // Everything recorded stays; the interrupted step's nodes are still "coding" and a resume redoes them.
      const why = setup.endpointDown?.reason instanceof Error ? setup.endpointDown.reason.message : (err as Error).message;
      store.recordEvent(runId, null, "stopped", `${why}; resume with \`kforge resume ${runId}\` once it is back`);
      store.setRunStatus(runId, "stopped", { stopReason: "model endpoint unreachable", error: why });
    } else if (controller.signal.aborted && cause === "deadline") {
      store.recordEvent(runId, null, "budget", "wall-time budget and its grace spent: in-flight work was cut");
      store.setRunStatus(runId, "done", { stopReason: "budget:wall" });
    } else if (controller.signal.aborted) {
      store.recordEvent(runId, null, "interrupt", "interrupted (Ctrl-C / SIGTERM); resume with `kforge resume`");
      store.setRunStatus(runId, "interrupted", { stopReason: "interrupted" });
    } else {
      store.recordEvent(runId, null, "failure", describeError(err));
      store.setRunStatus(runId, "failed", { stopReason: "error", error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  } finally {
    // Nothing may outlive the run: expansions still in flight (after a failure) stop here, resumable.
    if (expansions.running() > 0) {
      controller.abort(new Error("the search ended"));
      await expansions.settle();
    }
    clearInterval(recount);
    pipeline = summarizePipeline(lanes, laneMsBefore, laneTimeBefore, expansions.peak(), pipelineStatus().target);
    store.recordEvent(runId, null, "pipeline", describePipeline(pipeline));
    clearTimeout(deadline);
    clearInterval(heartbeat);
    setup.signal.removeEventListener("abort", onUserAbort);
    setup.endpointDown?.removeEventListener("abort", onEndpointDown);
    store.heartbeat(runId, elapsedMs());
  }
  return { ...summarizeRun(store, runId), ...(pipeline ? { pipeline } : {}) };
}

function summarizePipeline(lanes: LanesMeter, laneMsBefore: number, laneTimeBefore: number, peakInflight: number, target: number): PipelineSummary {
  const l = lanes.stats();
  const busy = lanes.busyLaneMs() - laneMsBefore;
  const laneTime = lanes.laneMs() - laneTimeBefore;
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  return {
    lanes: l.lanes,
    utilisation: laneTime > 0 ? Math.min(1, Math.round((busy / laneTime) * 1000) / 1000) : 0,
    verifications: l.jobs,
    meanVerifyMs: round(l.meanServiceMs),
    meanLaneWaitMs: round(l.meanWaitMs),
    peakInflight,
    inflightTarget: target,
  };
}

/** One line for the trace and the log. */
export function describePipeline(p: PipelineSummary): string {
  const ms = (x: number | null) => (x === null ? "-" : `${(x / 1000).toFixed(1)}s`);
  return `lanes ${p.lanes}, busy ${(p.utilisation * 100).toFixed(1)}% of this session; ${p.verifications} verifications (mean ${ms(p.meanVerifyMs)}, waited ${ms(p.meanLaneWaitMs)}); expansions in flight: peak ${p.peakInflight}, target ${p.inflightTarget}`;
}

/** A run checkpointed by kforge before the pipeline (one expansion per thread step) cannot be continued by this graph. */
async function refuseOldCheckpoint(checkpointer: SqliteSaver, runId: string): Promise<void> {
  const saved = await checkpointer.getTuple({ configurable: { thread_id: runId } });
  const channels = saved?.checkpoint.channel_values ?? {};
  if (["selected", "children", "batch"].some((c) => c in channels)) {
    throw new UserError(`run ${runId} was checkpointed by an older kforge that ran one expansion at a time; this one cannot continue it`, {
      hint: "finish it with the kforge that started it, or start a new search",
    });
  }
}

/** The breaker gave up on the endpoint (LangGraph may hand the error back wrapped). */
function isEndpointDown(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EndpointUnreachableError) return true;
  }
  return false;
}

/** The summary of a run as it stands in the trace. */
export function summarizeRun(store: TraceStore, runId: string): SearchSummary {
  const r = store.getRun(runId);
  if (!r) throw new UserError(`no run ${runId}`);
  return {
    runId,
    problem: r.problem,
    status: r.status,
    stopReason: r.stopReason,
    error: r.error,
    bestNode: r.bestNode,
    bestLabel: r.bestNode ? (store.getNode(r.bestNode)?.label ?? null) : null,
    bestSpeedup: r.bestSpeedup,
    nodes: r.nodes,
    correct: r.correct,
    tokens: r.promptTokens + r.completionTokens,
    costUsd: r.costUsd,
    elapsedMs: r.activeMs,
  };
}
