/**
 * A search verified only by remote workers (real `kforge worker` processes, real redis-server, the CPU test
 * problem), through the faults a cluster has: a worker killed with SIGKILL mid-job, Redis stopped and restarted
 * (append-only file on), a worker's network cut (it lives in its own network namespace and reaches Redis only
 * through a forwarder the test severs), and results forged for jobs a worker was never given. The run finishes,
 * every candidate is verified exactly once in the trace, and nothing forged gets in.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { KFORGE, type Kforge, kforgeEnv, startKforge } from "../search/cli-process.ts";
import { cpuKernel } from "../search/cpu-kernels.ts";
import { kernelModel } from "../search/script.ts";
import { CPU_TINY, ROOT } from "../verifier/helpers.ts";
import { Forwarder } from "./forward.ts";
import { freePort, RedisServer } from "./redis-server.ts";

const PASSWORD = "queue-test-pass";
const LEASE_S = 3;

let redis: RedisServer;
let model: ScriptedServer;
let inspector: Redis;
const children: ChildProcess[] = [];
const forwarders: Forwarder[] = [];

function workerEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-worker-home-")) };
}

function startWorker(id: string, env: NodeJS.ProcessEnv): Kforge {
  const k = startKforge(["worker", "--queue", redis.url, "--id", id], workerEnv(env));
  children.push(k.child);
  return k;
}

/** A worker in a network namespace of its own: its only way out is a forwarder through a Unix socket. */
async function startIsolatedWorker(id: string, env: NodeJS.ProcessEnv): Promise<{ k: Kforge; path: Forwarder }> {
  const sock = join(mkdtempSync(join(tmpdir(), "kforge-netns-")), "redis.sock");
  const path = new Forwarder(`unix:${sock}`, `tcp:127.0.0.1:${redis.port}`);
  forwarders.push(path);
  await path.ready();
  const inner = await freePort();
  const script = [
    "ip link set lo up",
    `"${process.execPath}" --import tsx test/queue/forward.ts tcp:127.0.0.1:${inner} unix:${sock} &`,
    "sleep 0.5",
    `exec "${process.execPath}" "${KFORGE}" worker --queue redis://:${PASSWORD}@127.0.0.1:${inner} --id ${id}`,
  ].join("\n");
  const child = spawn("unshare", ["-n", "sh", "-c", script], { cwd: ROOT, env: workerEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((r) => child.on("exit", (c, s) => r(c ?? s ?? -1)));
  return { k: { child, stdout: () => out, stderr: () => err, exited }, path };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The job entries a worker holds right now (pending in the group under its name). */
async function held(worker: string): Promise<string[]> {
  const rows = (await inspector.xpending("kforge:jobs:cpu", "workers", "-", "+", 100)) as [string, string, number, number][];
  return rows.filter((r) => r[1] === worker).map((r) => r[0]);
}

beforeAll(async () => {
  redis = await RedisServer.start({ password: PASSWORD });
  inspector = redis.client();
  model = await startScriptedServer(kernelModel({ fates: ["good", "broken", "slow"], kernel: cpuKernel, delayMs: 50 }));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const f of forwarders) f.close();
  inspector?.disconnect();
  await model?.close();
  await redis?.down();
});

describe("remote workers through Redis Streams", () => {
  it("a search finishes through kill -9, a Redis restart, a cut network and forged results, each candidate verified once", async () => {
    const home = mkdtempSync(join(tmpdir(), "kforge-orch-"));
    const env = { ...kforgeEnv(home, model.baseUrl), KFORGE_QUEUE_LEASE_S: String(LEASE_S), KFORGE_QUEUE_LOCAL: "0" };
    const w1 = startWorker("w1", env);
    const w2 = startWorker("w2", env);
    const w3 = await startIsolatedWorker("w3", env);
    await until("three workers' heartbeats", async () => (await inspector.keys("kforge:worker:*")).length === 3, 90_000);

    const search = startKforge(
      ["search", "--problem", CPU_TINY, "--queue", redis.url, "--max-nodes", "9", "--branching", "3", "--budget", "150s"],
      env,
    );
    children.push(search.child);

    // 1. kill -9 a worker that holds a job.
    const victim = await until(
      "a job held by w1 or w2",
      async () => ((await held("w1")).length ? w1 : (await held("w2")).length ? w2 : false),
      60_000,
    );
    victim.child.kill("SIGKILL");
    const survivor = victim === w1 ? "w2" : "w1";

    // 2. a forged result: a real worker's name, a job in flight it was never given; and one for a job never issued.
    // (The inbox stream exists once a worker's first `started` message reached it, a moment after it took a job.)
    const orchestratorInbox = await until("the search's inbox", async () => (await inspector.keys("kforge:results:*"))[0], 30_000);
    const forged = await until(
      "a job in flight to forge a result for",
      async () => {
        const rows = (await inspector.xpending("kforge:jobs:cpu", "workers", "-", "+", 100)) as [string, string, number, number][];
        const row = rows.find((r) => r[1] !== survivor);
        if (!row) return false;
        const entry = (await inspector.xrange("kforge:jobs:cpu", row[0], row[0]))[0];
        return entry ? (JSON.parse(entry[1][1] as string) as { jobId: string; attempt: number }) : false;
      },
      60_000,
    );
    const fake = {
      status: "ok",
      checks: [{ shape: { B: 1, H: 2, Hkv: 2, S: 17, D: 16 }, seed: 1, passed: true, maxError: 0, allowance: 1 }],
      timings: [],
      speedup: 99,
      tflops: 1,
      phases: { totalMs: 1 },
    };
    const sender = { host: "rogue", gpu: "cpu", result: fake };
    await inspector.xadd(
      orchestratorInbox,
      "*",
      "msg",
      JSON.stringify({ type: "verified", jobId: forged.jobId, attempt: forged.attempt, workerId: survivor, ...sender }),
    );
    await inspector.xadd(
      orchestratorInbox,
      "*",
      "msg",
      JSON.stringify({ type: "verified", jobId: "never-issued", attempt: 1, workerId: survivor, ...sender }),
    );

    // 3. cut the isolated worker's network while it holds a job; restore it after its lease has lapsed.
    await until("a job held by w3", async () => (await held("w3")).length > 0, 60_000);
    w3.path.sever();
    await new Promise((r) => setTimeout(r, (LEASE_S + 2) * 1000));
    w3.path.restore();

    // 4. Redis goes down mid-run and comes back from its append-only file.
    expect(search.child.exitCode, "the search was still running").toBeNull();
    const restartAt = Date.now();
    await redis.down();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.up();

    const code = await search.exited;
    expect(code, `${search.stdout()}\n${search.stderr()}`).toBe(0);
    const runId = /^run (\S+)/m.exec(search.stdout())?.[1];
    const db = openDatabase(join(home, "kforge.sqlite"));
    try {
      const run = db.prepare("SELECT status, stop_reason FROM trace_runs WHERE id = ?").get(runId) as { status: string; stop_reason: string };
      expect(run.status, JSON.stringify(run)).toBe("done");
      const kernels = db.prepare("SELECT id, status FROM trace_nodes WHERE run_id = ? AND kernel_hash IS NOT NULL").all(runId) as {
        id: string;
        status: string;
      }[];
      const counts = db
        .prepare("SELECT node_id, COUNT(*) AS n, MAX(speedup) AS best FROM trace_verifications WHERE run_id = ? GROUP BY node_id")
        .all(runId) as { node_id: string; n: number; best: number | null }[];
      expect(kernels.length).toBeGreaterThanOrEqual(6);
      // Nothing lost, nothing twice: every kernel has exactly one verification, and nothing forged got in.
      expect(counts.map((c) => [c.node_id, c.n]).sort()).toEqual(kernels.map((k) => [k.id, 1]).sort());
      expect(counts.every((c) => c.best === null || c.best < 99)).toBe(true);
      // Each verification names the worker whose reply passed the gate: one of the three, never the forger's claim.
      const by = (db.prepare("SELECT result FROM trace_verifications WHERE run_id = ?").all(runId) as { result: string }[]).map(
        (r) => (JSON.parse(r.result) as { worker?: { id: string; attempt: number } }).worker,
      );
      expect(
        by.every((w) => w !== undefined && ["w1", "w2", "w3"].includes(w.id) && w.attempt >= 1),
        JSON.stringify(by),
      ).toBe(true);
      const after = db.prepare("SELECT COUNT(*) AS n FROM trace_verifications WHERE run_id = ? AND created_at > ?").get(runId, restartAt) as {
        n: number;
      };
      expect(after.n, "verifications after Redis came back").toBeGreaterThan(0);
      const events = (db.prepare("SELECT message FROM trace_events WHERE run_id = ? AND kind = 'queue'").all(runId) as { message: string }[]).map(
        (e) => e.message,
      );
      expect(
        events.some((m) => m.includes(`refused: worker ${survivor} replied for attempt ${forged.attempt} of job ${forged.jobId}`)),
        events.join("\n"),
      ).toBe(true);
      expect(
        events.some((m) => m.includes("refused: reply for job never-issued")),
        events.join("\n"),
      ).toBe(true);
      expect(events.filter((m) => /reclaimed, its lease lapsed/.test(m)).length, events.join("\n")).toBeGreaterThanOrEqual(2);
    } finally {
      db.close();
    }
    // The workers left alive serve on: the isolated one is back (heartbeat again) once its path was restored.
    await until("w3's heartbeat after the partition", async () => (await inspector.exists("kforge:worker:w3")) === 1, 20_000);
    expect(w3.k.child.exitCode).toBeNull();
  }, 240_000);
});
