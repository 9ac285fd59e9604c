/** One process driving a run (new or resumed): components, baseline, progress, the graph, the summary. */
import type { DB } from "../../memory/db.ts";
import { InfraError, UserError } from "../../core/errors.ts";
import type { TraceStore } from "../../memory/trace-store.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { BaselineTimings } from "../../tools/verifier/types.ts";
import { driveRun, summarizeRun, type SearchSummary } from "../../graph/run.ts";
import { formatDuration, type BudgetLimits } from "../../graph/budget.ts";
import type { SearchOptions } from "../../graph/deps.ts";
import type { CommandContext } from "../command.ts";
import type { SearchComponents } from "./components.ts";
import { createProgress, fmtCount, type ProgressMode } from "./progress.ts";
import { inertText } from "../../core/inert-text.ts";
import type { RunLog } from "../../core/run-log.ts";
import { describeTime, type SessionTime } from "./session-time.ts";
import { verificationLanes } from "./lanes.ts";

/** Exit code of a run stopped because its model endpoint stayed down (EX_TEMPFAIL: try again later). */
export const EXIT_STOPPED = 75;

/** A run to drive and what it needs. */
export interface SessionInput {
  runId: string;
  problem: LoadedProblem;
  limits: BudgetLimits;
  options: SearchOptions;
  db: DB;
  store: TraceStore;
  mode: ProgressMode;
  /** Opened (and checked) by the caller before the run was created or resumed. */
  components: SearchComponents;
  /** When the command started (Date.now()): the wall budget counts from here, checks and baselines included. */
  startedAt: number;
  /** The run's log file (KFORGE_LOG sets its level). */
  log: RunLog;
}

/** Drives the run to its end (or an interrupt), prints the summary, returns the exit code. */
export async function runSession(ctx: CommandContext, s: SessionInput): Promise<number> {
  const out = ctx.json ? ctx.stderr : ctx.stdout;
  const components = s.components;
  const run = s.store.getRun(s.runId)!;
  // The budget is wall time from the command's start: what earlier sessions spent, then all of this
  // one (checks and baselines included), not only the graph's part of it.
  const earlierMs = run.activeMs;
  const elapsedMs = () => earlierMs + (Date.now() - s.startedAt);
  const progress = createProgress(s.mode, { out: out as NodeJS.WriteStream, store: s.store, runId: s.runId, limits: s.limits, elapsedMs });
  const log = (line: string) => {
    progress.log(line);
    s.log.info(line);
  };
  components.setLog(log);
  const time: SessionTime = { earlierMs, setupMs: 0, baselinesMs: 0, searchMs: 0, budgetMs: s.limits.wallMs };
  let summary: SearchSummary;
  try {
    const measuredAt = Date.now();
    time.setupMs = measuredAt - s.startedAt;
    // The wall budget counts while the baselines are measured: they get what is left of it, no more (on a slow
    // problem they could otherwise outlast any budget). Running out stops them as Ctrl-C does, killing the job.
    const budget = new AbortController();
    const budgetTimer = setTimeout(() => budget.abort(new Error("wall-time budget spent")), Math.max(0, s.limits.wallMs - elapsedMs()));
    const baseline = await baselineOf(s, components.verifier, log, AbortSignal.any([ctx.signal, budget.signal]))
      .catch((err: unknown) => {
        // Before the graph runs: record the failure (and the time it took) so the run is not left marked running.
        time.baselinesMs = Date.now() - measuredAt;
        s.store.heartbeat(s.runId, elapsedMs());
        if (ctx.signal.aborted) {
          // Ctrl-C (or a stop) while the baselines were measured is an interrupt like any other: the run is
          // resumable, and the person gets the usual summary and exit code rather than an error.
          s.store.setRunStatus(s.runId, "interrupted", { stopReason: "interrupted" });
          s.store.recordEvent(
            s.runId,
            null,
            "interrupt",
            "interrupted (Ctrl-C / SIGTERM) while measuring the baselines; resume with `kforge resume`",
          );
          s.log.warn("interrupted while measuring the baselines");
          return undefined;
        }
        if (budget.signal.aborted) {
          // Stopped, not done: nothing was searched, and `kforge resume RUN --budget T` measures them again with more time.
          const why = baselinesOutlastedBudget(s.limits.wallMs, time);
          s.store.setRunStatus(s.runId, "stopped", { stopReason: "budget:wall", error: why });
          s.store.recordEvent(s.runId, null, "budget", `${why}; ${moreTimeHint(s.runId, time.baselinesMs)}`);
          s.log.warn(why);
          return undefined;
        }
        s.store.setRunStatus(s.runId, "failed", { stopReason: "error", error: (err as Error).message });
        s.log.error(`before the search: ${(err as Error).message}`);
        throw err;
      })
      .finally(() => clearTimeout(budgetTimer));
    if (baseline === undefined) return finish(ctx, s, summarizeRun(s.store, s.runId), time);
    const drivingSince = Date.now();
    time.baselinesMs = drivingSince - measuredAt; // near 0 on a resume: the run's baselines are reused
    // driveRun counts from the run's recorded time: record this session's time so far, so the budget includes it.
    s.store.heartbeat(s.runId, elapsedMs());
    log(
      `before the search: checks ${formatDuration(time.setupMs)}, baselines ${formatDuration(time.baselinesMs)}; ${formatDuration(Math.max(0, s.limits.wallMs - elapsedMs()))} of the budget left`,
    );
    if (baseline?.gpu) components.setGpu(baseline.gpu);
    summary = await driveRun(s.runId, {
      db: s.db,
      store: s.store,
      problem: s.problem,
      verifier: components.verifier,
      profiler: components.profiler,
      agents: components.agents,
      memory: components.memory,
      limits: s.limits,
      ...(components.spend ? { spend: components.spend } : {}),
      endpointDown: components.endpointDown,
      options: s.options,
      gpu: baseline?.gpu ?? components.gpu,
      progress: { ...progress, log },
      signal: ctx.signal,
      lanes: await verificationLanes(ctx.config, s.problem),
      // Remote workers join and leave a queue during the run (a Slurm array starting late, a host lost): count again.
      ...(ctx.config.queue.url ? { countLanes: () => verificationLanes(ctx.config, s.problem) } : {}),
      ...(baseline ? { baseline } : {}),
    });
    time.searchMs = Date.now() - drivingSince;
    // The run's recorded time is the whole command's up to here: the graph's last heartbeat came a moment before the
    // search ended (lanes closing), so the parts (checks + baselines + search) could add up to more than the total.
    s.store.heartbeat(s.runId, elapsedMs());
    summary = { ...summary, elapsedMs: Math.max(summary.elapsedMs, elapsedMs()) };
    recordCutNodes(s, summary);
  } finally {
    progress.stop();
    await components.close();
  }
  return finish(ctx, s, summary, time);
}

/** The reason a run stopped while its baselines were measured: the budget, how long they had run, the rest of the time. */
export function baselinesOutlastedBudget(wallMs: number, t: SessionTime): string {
  const before = [...(t.earlierMs > 0 ? [`earlier sessions ${formatDuration(t.earlierMs)}`] : []), `checks ${formatDuration(t.setupMs)}`];
  return `the wall budget (${formatDuration(wallMs)}) was spent measuring the baselines: they had taken ${formatDuration(t.baselinesMs)} and were not finished (${before.join(", ")}); nothing was searched`;
}

/** How to go on after the budget ran out during the baselines: a resume with more time (a suggestion, whole minutes). */
export function moreTimeHint(runId: string, baselinesMs: number): string {
  const minutes = Math.max(15, Math.ceil((3 * baselinesMs) / 60_000));
  const text = minutes >= 60 ? `${Math.floor(minutes / 60)}h${minutes % 60 ? `${minutes % 60}m` : ""}` : `${minutes}m`;
  return `resume it with more time (the baselines are measured again): kforge resume ${runId} --budget ${text}`;
}

/** Nodes of a run left unverified (status coding or coded), which only a cut (the deadline's grace spent) leaves in a done run. */
export function unverifiedNodes(store: TraceStore, runId: string): number {
  return store.listNodes(runId).filter((n) => n.parentId !== null && (n.status === "coding" || n.status === "coded")).length;
}

/** A done run whose deadline cut work in flight says so in its trace, with how to verify what was cut. */
function recordCutNodes(s: SessionInput, summary: SearchSummary): void {
  if (summary.status !== "done") return;
  const cut = unverifiedNodes(s.store, s.runId);
  if (cut === 0) return;
  s.store.recordEvent(
    s.runId,
    null,
    "budget",
    `${cut} node${cut === 1 ? " was" : "s were"} cut before ${cut === 1 ? "its" : "their"} verification when the budget ran out; ${cutHint(s.runId)}`,
  );
}

function cutHint(runId: string): string {
  return `kforge resume ${runId} --budget 5m verifies them`;
}

/** Records the session's time, prints the summary (JSON or text), returns the exit code. */
function finish(ctx: CommandContext, s: SessionInput, summary: SearchSummary, time: SessionTime): number {
  s.store.recordEvent(s.runId, null, "time", `this session: ${describeTime(time)}`);
  // Nodes counted but never verified (cut at the deadline) are named, not passed off as explored.
  const unverified = unverifiedNodes(s.store, s.runId);
  s.log.info(
    `${summary.status}${summary.stopReason ? ` (${summary.stopReason})` : ""}: ${summary.nodes} nodes${unverified ? ` (${unverified} unverified)` : ""}, ${summary.correct} correct, best ${summary.bestSpeedup ?? "none"}; ${describeTime(time)}`,
  );
  if (summary.error) s.log.error(summary.error);
  if (ctx.json) ctx.stdout.write(`${JSON.stringify({ ...summary, unverified, time, log: s.log.path }, null, 2)}\n`);
  else ctx.stdout.write(`${describeSummary({ ...summary, unverified }, time, s.log.path)}\n`);
  return summary.status === "interrupted" ? 130 : summary.status === "failed" ? 1 : summary.status === "stopped" ? EXIT_STOPPED : 0;
}

/** The run's baseline timings: measured once when the verifier can, then reused by every resume. */
async function baselineOf(
  s: SessionInput,
  verifier: { measureBaseline?: (p: LoadedProblem, signal?: AbortSignal) => Promise<BaselineTimings> },
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<BaselineTimings | null> {
  const saved = s.store.getBaseline(s.runId) as BaselineTimings | null;
  if (saved || !verifier.measureBaseline) return saved;
  log("measuring the baselines once for this run");
  try {
    const b = await verifier.measureBaseline(s.problem, signal);
    s.store.setBaseline(s.runId, b);
    return b;
  } catch (err) {
    if (signal.aborted || err instanceof InfraError || err instanceof UserError) throw err;
    s.store.recordEvent(
      s.runId,
      null,
      "baseline_error",
      `measuring baselines failed; each verification times them itself: ${(err as Error).message}`,
    );
    return null;
  }
}

/** The final lines a person reads (`unverified`: nodes counted but never verified, cut at the deadline or by a stop). */
export function describeSummary(s: SearchSummary & { unverified?: number }, time?: SessionTime, logPath?: string): string {
  const best = s.bestSpeedup === null ? "no correct kernel" : `best ${s.bestSpeedup.toFixed(3)}x (node ${s.bestLabel})`;
  const nodes = `${s.nodes} nodes${s.unverified ? ` (${s.unverified} not verified)` : ""}`;
  const head = `${s.status}${s.stopReason ? ` (${s.stopReason})` : ""}: ${nodes}, ${s.correct} correct, ${best}, ${fmtCount(s.tokens)} tokens, $${s.costUsd.toFixed(2)}, ${formatDuration(s.elapsedMs)}`;
  const next =
    s.status === "stopped" && s.stopReason === "budget:wall"
      ? moreTimeHint(s.runId, time?.baselinesMs ?? 0)
      : s.status === "stopped"
        ? `resume once the model endpoint is back: kforge resume ${s.runId}`
        : s.status === "interrupted" || s.status === "failed"
          ? `resume: kforge resume ${s.runId}`
          : `inspect: kforge trace ${s.runId}${s.bestNode ? `   export the best: kforge export ${s.runId}` : ""}${s.status === "done" && s.unverified ? `   the ${s.unverified} cut at the deadline: ${cutHint(s.runId)}` : ""}`;
  // The error may quote a server or a model: nothing in it may steer the terminal.
  // The next step stays right under the head (and the error): the time split and the log come after.
  return [
    head,
    ...(s.error ? [`error: ${inertText(s.error)}`] : []),
    next,
    ...(time ? [`time: ${describeTime(time)}`] : []),
    ...(logPath ? [`log: ${logPath}`] : []),
  ].join("\n");
}
