/**
 * The pipeline on CPU: how busy the verification lanes stay and how many nodes an hour a search
 * makes, with the model answering after 0, 60 or 180 s and 1, 2, 4 or 8 lanes. Real graph,
 * checkpointer, trace store, LLM agents and scripted OpenAI-compatible server (its own process);
 * the verifier is simulated (a fixed verification time per candidate, verdicts from the kernel's
 * verdict line) behind the real lanes meter. Time is scaled: model delay and verification time are
 * both divided by the scale, so a simulated hour takes 3600/scale seconds; results are in simulated time.
 *   npx tsx bench/pipeline/run.ts [--hours 6] [--verify-s 60] [--delays 0,60,180] [--lanes 1,2,4,8] [--overhead-nodes 400] [--out DIR]
 * Writes DIR/results.{json,md} (default DIR: bench/results/pipeline).
 */
import { spawn } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { loadProblem } from "../../problems/load.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { LanesMeter } from "../../graph/lanes-meter.ts";
import { InstantVerifier } from "../../test/fakes/instant-verifier.ts";
import { searchSetup, tempDb } from "../../test/search/helpers.ts";
import type { VerifyRequest } from "../../tools/verifier/types.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : process.argv[i + 1]!;
};
const HOURS = Number(arg("--hours", "6"));
const VERIFY_S = Number(arg("--verify-s", "60"));
const DELAYS = arg("--delays", "0,60,180").split(",").map(Number);
const LANES = arg("--lanes", "1,2,4,8").split(",").map(Number);
const OVERHEAD_NODES = Number(arg("--overhead-nodes", "400"));
const OUT = arg("--out", join("bench", "results", "pipeline"));
/** Real verifications per second the scale aims at, whatever the lanes: the orchestration's CPU stays a small share of the run. */
const VERIFICATIONS_PER_S = 16;
const FATES = ["ok 1.10", "ok 1.30", "compile_error", "ok 0.90", "wrong_output 1.5", "ok 1.55", "rejected", "ok 1.20", "runtime_error", "ok 1.40"];
const problem = loadProblem("softcap");

async function startModelServer(delayMs: number): Promise<{ baseUrl: string; stop(): void }> {
  const args = [
    "--import",
    "tsx",
    "test/search/kernel-model-server.ts",
    "--fates",
    FATES.join(","),
    "--chunk-chars",
    "1000000",
    "--delay-ms",
    String(delayMs),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  for await (const line of createInterface({ input: child.stdout! })) {
    const m = /listening on (\S+)/.exec(line);
    if (m) return { baseUrl: m[1]!, stop: () => child.kill("SIGTERM") };
  }
  throw new Error("model server did not start");
}

/** The instant verifier's verdicts after a fixed (scaled) verification time. */
class SimulatedVerifier extends InstantVerifier {
  constructor(private readonly ms: number) {
    super();
  }
  override async verify(req: VerifyRequest) {
    if (this.ms > 0) await sleep(this.ms, undefined, { signal: req.signal });
    return super.verify(req);
  }
}

interface Row {
  delayS: number;
  lanes: number;
  scale: number;
  simulatedHours: number;
  utilisation: number;
  /** Lane utilisation over the second half of the run (after the tree has grown wide enough). */
  utilisationSecondHalf: number;
  verifiedPerHour: number;
  nodes: number;
  peakInflight: number;
  inflightTarget: number;
  cpuMsPerNode: number;
}

/** One search for `hours` simulated hours; lane numbers sampled at the budget's end (the search is then stopped). */
async function measure(delayS: number, lanes: number): Promise<Row> {
  const scale = (VERIFICATIONS_PER_S * VERIFY_S) / lanes;
  const wallMs = (HOURS * 3_600_000) / scale;
  const server = await startModelServer((delayS * 1000) / scale);
  const t = tempDb();
  const meter = new LanesMeter(new SimulatedVerifier((VERIFY_S * 1000) / scale), lanes);
  const stop = new AbortController();
  const limits = { wallMs: wallMs * 2 }; // the benchmark stops the search itself at `wallMs`
  const setup = searchSetup({
    db: t.db,
    store: t.store,
    problem,
    verifier: meter,
    baseUrl: server.baseUrl,
    limits,
    options: { branching: 4, seed: 1, inflight: "auto" },
    signal: stop.signal,
  });
  const runId = newRunId();
  createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
  const u0 = process.cpuUsage();
  // Samples at half time and at the end, each with the time it was really taken (timers fire a little late).
  const sample = () => ({ at: performance.now(), busy: meter.busyLaneMs(), jobs: meter.stats().jobs });
  const begin = sample();
  const run = driveRun(runId, setup);
  await sleep(wallMs / 2);
  const half = sample();
  await sleep(begin.at + wallMs - performance.now());
  const end = sample();
  const nodes = t.store.runTotals(runId).nodes;
  const u = process.cpuUsage(u0);
  stop.abort();
  const summary = await run;
  server.stop();
  t.cleanup();
  return {
    delayS,
    lanes,
    scale,
    simulatedHours: HOURS,
    utilisation: round((end.busy - begin.busy) / (lanes * (end.at - begin.at)), 3),
    utilisationSecondHalf: round((end.busy - half.busy) / (lanes * (end.at - half.at)), 3),
    verifiedPerHour: round((end.jobs / ((end.at - begin.at) * scale)) * 3_600_000, 1),
    nodes,
    peakInflight: summary.pipeline?.peakInflight ?? 0,
    inflightTarget: summary.pipeline?.inflightTarget ?? 0,
    cpuMsPerNode: round((u.user + u.system) / 1000 / Math.max(1, nodes), 2),
  };
}

/** Orchestration per node with no model delay and an instant verifier: wall and CPU ms per node. */
async function overhead(inflight: number | "auto") {
  const server = await startModelServer(0);
  const t = tempDb();
  const limits = { wallMs: 3_600_000, maxNodes: OVERHEAD_NODES };
  const setup = searchSetup({
    db: t.db,
    store: t.store,
    problem,
    verifier: new InstantVerifier(),
    baseUrl: server.baseUrl,
    limits,
    options: { branching: 4, seed: 1, inflight },
  });
  const runId = newRunId();
  createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
  const u0 = process.cpuUsage();
  const w0 = performance.now();
  const summary = await driveRun(runId, setup);
  const wall = performance.now() - w0;
  const u = process.cpuUsage(u0);
  server.stop();
  t.cleanup();
  return {
    inflight,
    nodes: summary.nodes,
    wallMsPerNode: round(wall / summary.nodes, 2),
    cpuMsPerNode: round((u.user + u.system) / 1000 / summary.nodes, 2),
    peakInflight: summary.pipeline?.peakInflight ?? 0,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// A short warm-up search: module loading and JIT are not part of any row.
await overhead(1).catch(() => undefined);
const overheads = [await overhead(1), await overhead("auto")];
console.log(JSON.stringify(overheads));
const rows: Row[] = [];
for (const delayS of DELAYS) {
  for (const lanes of LANES) {
    const row = await measure(delayS, lanes);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const result = {
  benchmark: "pipeline-cpu",
  date: new Date().toISOString(),
  command: `npm run bench -- pipeline --hours ${HOURS} --verify-s ${VERIFY_S} --delays ${DELAYS.join(",")} --lanes ${LANES.join(",")} --overhead-nodes ${OVERHEAD_NODES}`,
  machine: {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgAtEnd: loadavg().map((x) => round(x, 2)),
  },
  setup: {
    verifyS: VERIFY_S,
    branching: 4,
    inflight: "auto",
    scale: `model delay and verification time divided by ${VERIFICATIONS_PER_S} × ${VERIFY_S} / lanes (${VERIFICATIONS_PER_S} real verifications per second at full lanes)`,
    verifier:
      "simulated: fixed verification time, verdict from the kernel's verdict line (test/fakes/instant-verifier.ts), behind the real lanes meter",
  },
  overhead: overheads,
  rows,
};
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, "results.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(OUT, "results.md"), markdown(result));
console.log(markdown(result));

function markdown(r: typeof result): string {
  const perHour = (d: number, l: number) => r.rows.find((x) => x.delayS === d && x.lanes === l)?.verifiedPerHour;
  const scaling = DELAYS.map((d) => {
    const one = perHour(d, Math.min(...LANES));
    const most = perHour(d, Math.max(...LANES));
    return one && most ? `${d} s: ${round(most / one, 2)}x` : `${d} s: -`;
  });
  return [
    "# Pipeline on CPU: lane utilisation and nodes per hour",
    "",
    `${r.date.slice(0, 10)} · ${r.machine.cpu} (${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, shared) · Node ${r.machine.node} · load average at end ${r.machine.loadavgAtEnd.join(" / ")}`,
    "",
    `Command: \`${r.command}\``,
    "",
    `Setup: real graph (search ⇄ expansions on their own checkpoint threads), SqliteSaver (durability sync) and trace store in one SQLite file, real LLM agents over HTTP to the scripted OpenAI-compatible server (its own process); ${r.setup.verifier}. Verification takes ${r.setup.verifyS} s per candidate, branching 4, \`--inflight auto\`. Time scale: ${r.setup.scale}; every number below is in simulated (unscaled) time. Each search runs ${HOURS} simulated hours from an empty tree (its start included).`,
    "",
    "| model delay | lanes | scale | lanes busy (whole run) | lanes busy (2nd half) | verified nodes / hour | expansions in flight (peak / target at end) | CPU ms / node |",
    "|---|---|---|---|---|---|---|---|",
    ...r.rows.map(
      (x) =>
        `| ${x.delayS} s | ${x.lanes} | ${round(x.scale, 1)} | ${(x.utilisation * 100).toFixed(1)}% | ${(x.utilisationSecondHalf * 100).toFixed(1)}% | ${x.verifiedPerHour} | ${x.peakInflight} / ${x.inflightTarget} | ${x.cpuMsPerNode} |`,
    ),
    "",
    `Nodes per hour from ${Math.min(...LANES)} to ${Math.max(...LANES)} lanes, by model delay: ${scaling.join(", ")}.`,
    "",
    `Orchestration overhead (no model delay, instant verifier, ${OVERHEAD_NODES} nodes, a warm process): ${r.overhead.map((o) => `--inflight ${o.inflight}: ${o.wallMsPerNode} ms wall, ${o.cpuMsPerNode} ms CPU per node (peak ${o.peakInflight} in flight)`).join("; ")}.`,
    "",
    "Targets: at 180 s per model call and 8 lanes, lanes busy ≥ 85% of the run; nodes per hour ≥ 6x from 1 to 8 lanes; orchestration < 20 ms per node.",
    "",
  ].join("\n");
}
