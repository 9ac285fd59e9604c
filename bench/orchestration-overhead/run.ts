/**
 * Orchestration overhead per tree node: the whole search (graph, checkpointer with durability
 * "sync", trace store, LLM agents with their HTTP client and parsing, tree policy) with the model
 * replaced by the scripted server (in its own process) and the GPU by an instant verifier. The tree
 * grows to 1,000 nodes; we report wall and CPU ms per node around 10, 100 and 1,000 nodes (target
 * < 50 ms and flat) and database bytes per node.
 *   npx tsx bench/orchestration-overhead/run.ts [--nodes 1000] [--branching 4] [--out DIR]
 * Writes DIR/orchestration-overhead.{json,md} (default DIR: bench/results/orchestration-overhead).
 */
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { writeFileSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { loadProblem } from "../../problems/load.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { InstantVerifier } from "../../test/fakes/instant-verifier.ts";
import { searchSetup, tempDb } from "../../test/search/helpers.ts";
import type { VerifyRequest } from "../../tools/verifier/types.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const NODES = arg("--nodes", 1000);
const OUT = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1]! : join("bench", "results", "orchestration-overhead");
const BRANCHING = arg("--branching", 4);
const FATES = ["ok 1.10", "ok 1.30", "compile_error", "ok 0.90", "wrong_output 1.5", "ok 1.55", "rejected", "ok 1.20", "runtime_error", "ok 1.40"];
/** Windows (in nodes) the per-node cost is averaged over: [from, to]. The first expansion (module loading, JIT warm-up, first connections) is reported apart. */
const WINDOWS: [number, number][] = [
  [BRANCHING, 12],
  [80, 100],
  [NODES - 20, NODES],
];
// (windows start after the first expansion, whose cost is reported as firstExpansionMs)

async function startModelServer(): Promise<{ baseUrl: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/search/kernel-model-server.ts", "--fates", FATES.join(","), "--chunk-chars", "1000000"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const m = /listening on (\S+)/.exec(line);
    if (m) return { baseUrl: m[1]!, stop: () => child.kill("SIGTERM") };
  }
  throw new Error("model server did not start");
}

/** A verifier that notes when each node finished verifying, with the process's CPU time and the DB's size. */
class TimedVerifier extends InstantVerifier {
  marks: { wall: number; cpu: number; dbBytes: number }[] = [];
  constructor(private readonly dbBytes: () => number) {
    super();
  }
  override async verify(req: VerifyRequest) {
    const r = await super.verify(req);
    const u = process.cpuUsage();
    this.marks.push({ wall: performance.now(), cpu: (u.user + u.system) / 1000, dbBytes: this.dbBytes() });
    return r;
  }
}

/** One search of `nodes` nodes in a fresh database; the per-node costs over `windows`, and the database's size. */
async function measure(baseUrl: string, nodes: number, windows: [number, number][]) {
  const t = tempDb();
  const pageBytes = () => (t.db.pragma("page_count", { simple: true }) as number) * (t.db.pragma("page_size", { simple: true }) as number);
  const verifier = new TimedVerifier(pageBytes);
  const problem = loadProblem("softcap");
  const limits = { wallMs: 3_600_000, maxNodes: nodes };
  const setup = searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl, limits, options: { branching: BRANCHING, seed: 1 } });
  const runId = newRunId();
  createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
  const u0 = process.cpuUsage();
  const start = { wall: performance.now(), cpu: (u0.user + u0.system) / 1000, dbBytes: pageBytes() };
  const summary = await driveRun(runId, setup);
  const totalMs = performance.now() - start.wall;
  const at = (n: number) => (n === 0 ? start : verifier.marks[n - 1]!);
  const perNode = windows.map(([from, to]) => {
    const a = at(from);
    const b = at(to);
    return {
      nodes: `${from + 1}-${to}`,
      wallMsPerNode: round((b.wall - a.wall) / (to - from)),
      cpuMsPerNode: round((b.cpu - a.cpu) / (to - from)),
      dbBytesPerNode: Math.round((b.dbBytes - a.dbBytes) / (to - from)),
    };
  });
  t.db.pragma("wal_checkpoint(TRUNCATE)");
  const fileBytes = statSync(t.path).size;
  const tableBytes = (sql: string) => (t.db.prepare(sql).get() as { b: number | null }).b ?? 0;
  const database = {
    fileBytes,
    bytesPerNode: Math.round(fileBytes / summary.nodes),
    checkpoints: tableBytes("SELECT SUM(LENGTH(checkpoint) + LENGTH(metadata)) AS b FROM checkpoints"),
    checkpointWrites: tableBytes("SELECT SUM(LENGTH(value)) AS b FROM writes"),
    artifacts: tableBytes("SELECT SUM(bytes) AS b FROM trace_artifacts"),
    checkpointRows: tableBytes("SELECT COUNT(*) AS b FROM checkpoints"),
  };
  t.cleanup();
  return { nodes: summary.nodes, firstExpansionMs: round(at(BRANCHING).wall - start.wall), totalMs, windows: perNode, database };
}

const server = await startModelServer();
// A fresh process pays module loading and JIT warm-up once: measured apart, then the tree grows in a warm process.
const cold = await measure(server.baseUrl, 12, [[BRANCHING, 12]]);
const warm = await measure(server.baseUrl, NODES, WINDOWS);
server.stop();
const summary = { nodes: warm.nodes };
const totalMs = warm.totalMs;
const windows = warm.windows;

const result = {
  benchmark: "orchestration-overhead",
  date: new Date().toISOString(),
  command: `npx tsx bench/orchestration-overhead/run.ts --nodes ${NODES} --branching ${BRANCHING}`,
  machine: {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgAtEnd: (await import("node:os")).loadavg().map((x) => round(x)),
  },
  setup:
    "scripted OpenAI-compatible server in a child process (one SSE chunk per reply), real LLM agents, LangGraph + SqliteSaver (durability sync) and the trace store in one SQLite file (WAL), instant verifier",
  coldProcess: { firstExpansionMs: cold.firstExpansionMs, nodes5to12: cold.windows[0]! },
  nodes: summary.nodes,
  iterations: Math.ceil(summary.nodes / BRANCHING),
  totalSeconds: round(totalMs / 1000),
  averageWallMsPerNode: round(totalMs / summary.nodes),
  windows,
  database: warm.database,
  target: "< 50 ms per node, flat from 10 to 1,000 nodes",
};
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, "orchestration-overhead.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(OUT, "orchestration-overhead.md"), markdown(result));
console.log(markdown(result));

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function markdown(r: typeof result): string {
  return [
    "# Orchestration overhead per tree node",
    "",
    `${r.date.slice(0, 10)} · ${r.machine.cpu} (${r.machine.cores} cores, ${r.machine.memoryGiB} GiB) · Node ${r.machine.node} · load average at end ${r.machine.loadavgAtEnd.join(" / ")}`,
    "",
    `Command: \`${r.command}\``,
    "",
    `Setup: ${r.setup}. Everything except model and GPU time.`,
    "",
    "| nodes | wall ms/node | CPU ms/node | DB bytes/node |",
    "|---|---|---|---|",
    ...r.windows.map((w) => `| ${w.nodes} | ${w.wallMsPerNode} | ${w.cpuMsPerNode} | ${w.dbBytesPerNode} |`),
    "",
    `${r.nodes} nodes in ${r.iterations} expansions, ${r.totalSeconds} s in all (${r.averageWallMsPerNode} ms/node on average).`,
    `A cold process (module loading, JIT warm-up, first connections) pays ${r.coldProcess.firstExpansionMs} ms for its first expansion, then ` +
      `${r.coldProcess.nodes5to12.wallMsPerNode} ms/node wall (${r.coldProcess.nodes5to12.cpuMsPerNode} CPU) for nodes 5-12; the table is the warm process.`,
    `Database: ${(r.database.fileBytes / 1e6).toFixed(1)} MB after a WAL checkpoint, ${r.database.bytesPerNode} bytes per node ` +
      `(checkpoint blobs ${(r.database.checkpoints / 1e6).toFixed(1)} MB in ${r.database.checkpointRows} checkpoints, pending writes ${(r.database.checkpointWrites / 1e6).toFixed(1)} MB, trace artifacts ${(r.database.artifacts / 1e6).toFixed(1)} MB).`,
    "",
    `Target: ${r.target}. CPU ms/node counts this process only (the model server runs in another); wall ms/node includes the loopback HTTP round trips.`,
    "",
  ].join("\n");
}
