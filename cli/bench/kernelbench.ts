/**
 * `kforge bench kernelbench`: one search per problem of a KernelBench level (the `search` and `resume` commands
 * themselves, in this process), recorded as a bench session so an interrupted bench resumes with the problems it had
 * not finished (a started search is resumed, not redone; a finished one is never run again).
 */
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { Writable } from "node:stream";
import { requireKernelBenchOffline } from "../../agents/kernelbench/offline.ts";
import { usesOfflinePolicy } from "../../agents/model.ts";
import { preflightModels } from "../../agents/preflight.ts";
import type { Config } from "../../core/config.ts";
import { UserError } from "../../core/errors.ts";
import { BenchStore, type BenchProblemRow } from "../../memory/bench-store.ts";
import { openDatabase, type DB } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { listKernelBench } from "../../problems/kernelbench/list.ts";
import { loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import type { LoadedKernelBenchProblem } from "../../problems/schema.ts";
import { requireSandbox } from "../../tools/sandbox/sandbox.ts";
import type { CommandContext } from "../command.ts";
import { resumeCommand } from "../commands/resume.ts";
import { searchCommand } from "../commands/search.ts";
import { benchReport, benchText, type BenchProblemResult } from "./kernelbench-report.ts";
import { requireVerifierFor } from "../search/verifier-checks.ts";

/** What a new bench searches and how. */
export interface NewBench {
  root: string;
  level: number;
  budget: string;
  /** Names (kb_l1_19_relu), file stems (19_ReLU) or numbers (19) of the problems to take; all of the level when absent. */
  only?: string[];
  /** Extra search flags (--max-nodes, --branching), passed to every search. */
  searchFlags: Record<string, string>;
}

/** Starts a bench (or resumes one with `resume`) and drives it to its end; returns the exit code. */
export async function runKernelBench(ctx: CommandContext, opts: { create?: NewBench; resume?: string }): Promise<number> {
  const db = openDatabase(ctx.config.dbPath);
  try {
    const benches = new BenchStore(db).setup();
    // A host that cannot search these problems at all refuses the bench here, before anything is recorded.
    const id = opts.resume ? await resumeBench(ctx.config, benches, opts.resume) : await createBench(ctx.config, benches, opts.create!);
    const bench = benches.get(id)!;
    const cfg = bench.config as { level: number; budget: string; searchFlags: Record<string, string> };
    const note = ctx.json ? ctx.stderr : ctx.stdout;
    note.write(`bench ${id}\n`);
    benches.setStatus(id, "running");
    let interrupted = false;
    for (const p of benches.problems(id)) {
      if (p.status === "done") continue;
      if (ctx.signal.aborted) {
        interrupted = true;
        break;
      }
      note.write(`${p.name}: ${p.runId ? `resuming run ${p.runId}` : "searching"}\n`);
      const code = await searchOne(ctx, db, benches, id, p, cfg);
      const row = benches.problems(id).find((x) => x.position === p.position)!;
      // Ctrl-C, or the model endpoint down (75): the run is resumable, and so is the bench.
      if (code === 130 || code === 75 || ctx.signal.aborted) {
        interrupted = true;
        break;
      }
      const result = resultOf(db, row);
      benches.finished(id, p.position, result);
      note.write(`${p.name}: ${outcome(result)}\n`);
    }
    benches.setStatus(id, interrupted ? "interrupted" : "done");
    const rows = benches.problems(id);
    const report = benchReport(
      id,
      cfg.level,
      cfg.budget,
      rows.length,
      rows.filter((r) => r.status === "done").map((r) => r.result as BenchProblemResult),
    );
    if (ctx.json) ctx.stdout.write(`${JSON.stringify({ ...report, status: interrupted ? "interrupted" : "done" }, null, 2)}\n`);
    else ctx.stdout.write(`${benchText(report)}\n${interrupted ? `\ninterrupted: kforge bench kernelbench --resume ${id}\n` : ""}`);
    return interrupted ? 130 : 0;
  } finally {
    db.close();
  }
}

/** One problem's outcome as the bench's progress line says it. */
function outcome(r: BenchProblemResult): string {
  if (r.correct) return `correct, ${r.speedupEager?.toFixed(2)}x vs eager`;
  if (r.runStatus === NOT_RUN) return `not run (${r.error ?? "refused"})`;
  return `no correct kernel (${r.runStatus})`;
}

async function createBench(config: Config, benches: BenchStore, b: NewBench): Promise<string> {
  const entries = listKernelBench(b.root, b.level).filter((e) => e.problem);
  const picked = b.only?.length ? b.only.map((want) => pick(entries, want)) : entries;
  if (picked.length === 0) throw new UserError(`no KernelBench problems in level ${b.level} of ${b.root}`);
  await requireSearchable(
    config,
    picked.map((e) => e.problem!),
  );
  const id = `kb-${new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14)}-${randomBytes(2).toString("hex")}`;
  benches.create(
    id,
    "kernelbench",
    { root: b.root, level: b.level, budget: b.budget, searchFlags: b.searchFlags },
    picked.map((e) => ({ name: e.problem!.spec.name, ref: `kernelbench:${e.path}` })),
  );
  return id;
}

function pick(entries: ReturnType<typeof listKernelBench>, want: string) {
  const w = want.trim().toLowerCase();
  const hit = entries.find((e) => {
    const stem = basename(e.path, ".py").toLowerCase();
    return e.problem!.spec.name === w || stem === w || stem.split("_")[0] === w;
  });
  if (!hit)
    throw new UserError(`--problems: no problem "${want}" in this level`, {
      hint: `known: ${entries.map((e) => basename(e.path, ".py")).join(", ")}`,
    });
  return hit;
}

/** The bench `ref` names, once this host can search the problems it has left. */
async function resumeBench(config: Config, benches: BenchStore, ref: string): Promise<string> {
  const id = findBench(benches, ref);
  const left: LoadedKernelBenchProblem[] = [];
  for (const p of benches.problems(id)) {
    if (p.status === "done") continue;
    try {
      left.push(loadKernelBenchProblem(p.ref));
    } catch {
      // a file gone since the bench began: its own search refuses it, recorded as that problem's "not run"
    }
  }
  await requireSearchable(config, left);
  return id;
}

/**
 * The configuration checks `kforge search` makes before a run exists, made once for the whole bench: a refusal
 * here (a dead model endpoint, a missing Python, no GPU for a CUDA problem, no model and no offline policy for
 * KernelBench problems, no sandbox) is
 * the host's, not any problem's, so the bench is refused with it (exit 2) rather than recording every problem as
 * failed. The offline policy's check depends on the problem only through its device: one problem per device.
 */
async function requireSearchable(config: Config, problems: LoadedKernelBenchProblem[]): Promise<void> {
  await preflightModels(config);
  const offline = usesOfflinePolicy(config);
  const byDevice = problems.filter((p, i) => problems.findIndex((q) => q.spec.device === p.spec.device) === i);
  // The verifier's Python exists and has torch, and a CUDA problem has a GPU (or remote workers verify).
  for (const p of byDevice) await requireVerifierFor(config, { name: p.spec.name, device: p.spec.device, kernelBench: true }, { offline });
  if (offline) for (const p of byDevice) await requireKernelBenchOffline(config, p);
  await requireSandbox(config.python, config.unsafeNoSandbox);
}

function findBench(benches: BenchStore, ref: string): string {
  const ids = benches.find(ref);
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0)
    throw new UserError(`no bench "${ref}" in this database`, { hint: "the bench id is printed first by `kforge bench kernelbench`" });
  throw new UserError(`"${ref}" matches ${ids.length} benches`, { hint: `be more specific: ${ids.slice(0, 3).join(", ")}` });
}

/** Runs (or resumes) one problem's search through the real command; records its run id the moment it is printed. */
async function searchOne(
  ctx: CommandContext,
  db: DB,
  benches: BenchStore,
  id: string,
  p: BenchProblemRow,
  cfg: { budget: string; searchFlags: Record<string, string> },
): Promise<number> {
  const sub: CommandContext = {
    config: ctx.config,
    json: true, // the summary goes to a sink; the progress display stays off
    stdout: sink(() => {}),
    stderr: sink((line) => {
      const m = /^run (\S+)$/.exec(line);
      if (m && !p.runId) benches.started(id, p.position, m[1]!);
    }),
    signal: ctx.signal,
  };
  try {
    if (p.runId) {
      const run = new TraceStore(db).setup().getRun(p.runId);
      if (run?.status === "done") return 0; // it finished before the bench recorded it
      return await resumeCommand.run({ values: { quiet: true }, positionals: [p.runId] }, sub);
    }
    return await searchCommand.run({ values: { problem: p.ref, budget: cfg.budget, quiet: true, ...cfg.searchFlags }, positionals: [] }, sub);
  } catch (err) {
    // The host's refusals were checked before the bench began; one left here is this problem's own (a file gone or
    // broken since): it was not run, and counts as not correct (KernelBench's fast_p divides by every problem).
    if (err instanceof UserError && !p.runId && !benches.problems(id).find((x) => x.position === p.position)?.runId) {
      benches.finished(id, p.position, failed(p, err.hint ? `${err.message}\n${err.hint}` : err.message));
      return 1;
    }
    throw err;
  }
}

/** The run status of a problem whose search was refused before its run existed. */
const NOT_RUN = "refused";

function failed(p: BenchProblemRow, error: string): BenchProblemResult {
  return {
    name: p.name,
    ref: p.ref,
    runId: null,
    runStatus: NOT_RUN,
    correct: false,
    speedupEager: null,
    speedupCompile: null,
    compileUnavailable: null,
    nodes: 0,
    correctNodes: 0,
    error,
  };
}

/** The problem's result as its run records it: the best correct node's speedups over eager and torch.compile. */
function resultOf(db: DB, p: BenchProblemRow): BenchProblemResult {
  if (p.status === "done" && p.result) return p.result as BenchProblemResult;
  if (!p.runId) return failed(p, "the search did not start");
  const store = new TraceStore(db).setup();
  const run = store.getRun(p.runId);
  if (!run) return failed(p, `run ${p.runId} is not in this database`);
  const nodes = store.listNodes(p.runId).filter((n) => n.status !== "root");
  const best = run.bestNode ? store.getVerification(run.bestNode) : null;
  const timing = best?.status === "ok" ? best.timings[0] : undefined;
  const correct = best?.status === "ok";
  return {
    name: p.name,
    ref: p.ref,
    runId: p.runId,
    runStatus: run.status,
    correct,
    speedupEager: correct ? (timing?.speedup["eager"] ?? run.bestSpeedup) : null,
    speedupCompile: correct ? (timing?.speedup["compile"] ?? null) : null,
    compileUnavailable: timing?.unavailable?.["compile"] ?? null,
    nodes: nodes.length,
    correctNodes: nodes.filter((n) => n.status === "ok").length,
    error: run.error,
  };
}

/** A stream that hands over whole lines. */
function sink(onLine: (line: string) => void): NodeJS.WritableStream {
  let buf = "";
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      buf += chunk.toString();
      let i = buf.indexOf("\n");
      while (i >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
      done();
    },
  });
}
