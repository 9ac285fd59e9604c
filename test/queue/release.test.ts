/**
 * A stopping worker hands its job back (`released`) and the orchestrator issues it again at once, not a lease
 * later. First through a real search: two real `kforge worker` processes, the lease long (120 s), the one running the
 * (slow) candidate stopped with SIGTERM while the other is idle; the candidate is verified once, by the other one,
 * as attempt 2, far sooner than the lease. Then the gate, driven by hand against the orchestrator's RemoteVerifier:
 * a release from a worker that does not hold the attempt, a repeated release and a result of the released attempt
 * are all refused, so the job is still verified exactly once.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { loadProblem } from "../../problems/load.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import { RemoteVerifier } from "../../tools/queue/remote-verifier.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { type Kforge, kforgeEnv, startKforge } from "../search/cli-process.ts";
import { cpuKernel } from "../search/cpu-kernels.ts";
import { kernelModel } from "../search/script.ts";
import { CPU_TINY, KERNELS } from "../verifier/helpers.ts";
import { RedisServer } from "./redis-server.ts";

/** Long: a job that came back by its lease lapsing could not be verified before 3/4 of it after the stop. */
const LEASE_S = 120;
/** The candidate sleeps this long as it is imported: the job is still running when its worker is stopped. */
const SLEEP_S = 5;
const JOBS = "kforge:jobs:cpu";

let redis: RedisServer;
let model: ScriptedServer;
let inspector: Redis;
const children: ChildProcess[] = [];

/** A correct kernel that takes SLEEP_S seconds to import. */
function sleepyKernel(_fate: string, title: string): string {
  return cpuKernel("good", title).replace("import torch\n", `import time\nimport torch\n\ntime.sleep(${SLEEP_S})\n`);
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

/** The job entries of the CPU stream as issued: entry id, the worker holding it (if taken), the job. */
async function jobs(): Promise<{ msgId: string; holder: string | undefined; job: { jobId: string; attempt: number; kind: string } }[]> {
  const pending = (await inspector.xpending(JOBS, "workers", "-", "+", 100)) as [string, string, number, number][];
  const entries = (await inspector.xrange(JOBS, "-", "+")) as [string, string[]][];
  return entries.map(([msgId, flat]) => ({
    msgId,
    holder: pending.find((p) => p[0] === msgId)?.[1],
    job: JSON.parse(flat[1] as string) as { jobId: string; attempt: number; kind: string },
  }));
}

beforeAll(async () => {
  redis = await RedisServer.start();
  inspector = redis.client();
  model = await startScriptedServer(kernelModel({ fates: ["good"], kernel: sleepyKernel, delayMs: 20 }));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  inspector?.disconnect();
  await model?.close();
  await redis?.down();
});

describe("a stopping worker hands its job back", () => {
  it("SIGTERM mid-job: the idle worker runs it at once as attempt 2, verified once, long before the lease", async () => {
    const home = mkdtempSync(join(tmpdir(), "kforge-release-"));
    const env = { ...kforgeEnv(home, model.baseUrl), KFORGE_QUEUE_LEASE_S: String(LEASE_S), KFORGE_QUEUE_LOCAL: "0" };
    const workers = new Map<string, Kforge>();
    for (const id of ["r1", "r2"]) {
      const k = startKforge(["worker", "--queue", redis.url, "--id", id], { ...env, KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-release-w-")) });
      children.push(k.child);
      workers.set(id, k);
    }
    await until("both workers' heartbeats", async () => (await inspector.keys("kforge:worker:*")).length === 2, 120_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${[...workers.values()].map((w) => w.stderr()).join("\n")}`);
    });

    const search = startKforge(
      ["search", "--problem", CPU_TINY, "--queue", redis.url, "--max-nodes", "1", "--branching", "1", "--budget", "280s"],
      env,
    );
    children.push(search.child);

    // The candidate's verification, taken by one worker (the other one is idle: nothing else is left to do).
    const taken = await until(
      "the candidate's verification taken by a worker",
      async () => (await jobs()).find((j) => j.job.kind === "verify" && j.holder !== undefined),
      90_000,
    );
    expect(taken.job.attempt).toBe(1);
    const victimId = taken.holder as string;
    const otherId = victimId === "r1" ? "r2" : "r1";
    const victim = workers.get(victimId) as Kforge;
    await new Promise((r) => setTimeout(r, 1000)); // well inside the candidate's import (SLEEP_S)
    const stoppedAt = Date.now();
    victim.child.kill("SIGTERM");

    expect(await victim.exited, victim.stderr()).toBe(0);
    expect(Date.now() - stoppedAt, "the stopped worker exits promptly").toBeLessThan(30_000);
    expect(victim.stdout()).toContain(`worker ${victimId} stopped`);
    expect(victim.stderr()).toMatch(new RegExp(`job ${taken.job.jobId} attempt 1: handed back`));

    const code = await search.exited;
    expect(code, `${search.stdout()}\n${search.stderr()}`).toBe(0);
    const runId = /^run (\S+)/m.exec(search.stdout())?.[1];
    const db = openDatabase(join(home, "kforge.sqlite"));
    try {
      const run = db.prepare("SELECT status FROM trace_runs WHERE id = ?").get(runId) as { status: string };
      expect(run.status).toBe("done");
      const kernels = db.prepare("SELECT id FROM trace_nodes WHERE run_id = ? AND kernel_hash IS NOT NULL").all(runId) as { id: string }[];
      const rows = db.prepare("SELECT node_id, status, result, created_at FROM trace_verifications WHERE run_id = ?").all(runId) as {
        node_id: string;
        status: string;
        result: string;
        created_at: number;
      }[];
      // Exactly once: the one candidate has one verification, by the worker that stayed, as the second attempt.
      expect(kernels).toHaveLength(1);
      expect(rows.map((r) => r.node_id)).toEqual([kernels[0]?.id]);
      const row = rows[0] as (typeof rows)[number];
      expect(row.status).toBe("ok");
      expect((JSON.parse(row.result) as { worker?: unknown }).worker).toMatchObject({ id: otherId, attempt: 2 });
      // Far sooner than the lease: the stopped worker last renewed it at most LEASE_S/4 before the stop, so a lapsed
      // lease could not have brought it back before 3/4 of LEASE_S after it (plus the second run's own SLEEP_S).
      expect(row.created_at - stoppedAt, "from SIGTERM to the verification").toBeLessThan(LEASE_S * 500);
      const events = (db.prepare("SELECT message FROM trace_events WHERE run_id = ? AND kind = 'queue'").all(runId) as { message: string }[]).map(
        (e) => e.message,
      );
      expect(
        events.some((m) => m.includes(`job ${taken.job.jobId}: attempt 1 reclaimed, worker ${victimId} stopped and released it`)),
        events.join("\n"),
      ).toBe(true);
      expect(
        events.filter((m) => /lease lapsed|refused/.test(m)),
        events.join("\n"),
      ).toEqual([]);
    } finally {
      db.close();
    }
    // The job left nothing behind: its entries are acknowledged and gone, and the stopped worker left the queue.
    expect(await inspector.xlen(JOBS)).toBe(0);
    expect(await inspector.exists(`kforge:worker:${victimId}`)).toBe(0);
    expect(await inspector.exists(`kforge:worker:${otherId}`)).toBe(1);
    const other = workers.get(otherId) as Kforge;
    other.child.kill("SIGTERM"); // idle: it just leaves (and takes nothing of the next test's)
    expect(await other.exited).toBe(0);
  }, 420_000);
});

describe("the release gate", () => {
  it("only the holder of the current attempt releases it; later replies of a released attempt are refused", async () => {
    const remote = new RemoteVerifier(parseQueueUrl(redis.url), { leaseMs: LEASE_S * 1000 });
    try {
      const problem = loadProblem(CPU_TINY);
      const source = readFileSync(join(KERNELS, "cpu", "good.py"), "utf8");
      const result = {
        status: "ok",
        checks: [{ shape: { B: 1, H: 2, Hkv: 2, S: 17, D: 16 }, seed: 1, passed: true, maxError: 0, allowance: 1 }],
        timings: [],
        speedup: 1.5,
        tflops: 1,
        phases: { totalMs: 1 },
      };
      const inbox = `kforge:results:${remote.id}`;
      const send = async (msg: Record<string, unknown>) => {
        await inspector.xadd(inbox, "*", "msg", JSON.stringify({ host: "test", gpu: "cpu", ...msg }));
      };
      /** Takes the next job entry as worker `consumer` (XREADGROUP, as a worker does). */
      const take = (consumer: string) =>
        until(
          `a job for ${consumer}`,
          async () => {
            const r = (await inspector.xreadgroup("GROUP", "workers", consumer, "COUNT", 1, "STREAMS", JOBS, ">")) as
              | [string, [string, string[]][]][]
              | null;
            const entry = r?.[0]?.[1][0];
            return entry ? (JSON.parse(entry[1][1] as string) as { jobId: string; attempt: number }) : false;
          },
          10_000,
        );
      const refusals = (n: number) => until(`${n} refusal(s)`, async () => remote.refused.length >= n, 10_000);

      const verdict = remote.verify({ problem, source, candidateId: "c1" });
      const first = await take("ga");
      expect(first.attempt).toBe(1);
      await send({ type: "started", jobId: first.jobId, attempt: 1, workerId: "ga" });

      // A worker that does not hold the attempt cannot release it: refused, and the job stays at attempt 1.
      await send({ type: "released", jobId: first.jobId, attempt: 1, workerId: "gb", reason: "forged" });
      await refusals(1);
      expect(remote.refused[0]?.reason).toMatch(new RegExp(`worker gb replied for attempt 1 of job ${first.jobId}, which it was not given \\(ga\\)`));
      expect((await jobs()).map((j) => [j.job.attempt, j.holder])).toEqual([[1, "ga"]]);

      // Its holder releases it: attempt 2 goes out at once (the lease is a minute), in place of attempt 1.
      const releasedAt = Date.now();
      await send({ type: "released", jobId: first.jobId, attempt: 1, workerId: "ga", reason: "shutting down" });
      const reissued = await until(
        "attempt 2 on the stream",
        async () => {
          const js = await jobs();
          return js.length === 1 && js[0]?.job.attempt === 2 ? js : false;
        },
        10_000,
      );
      expect(Date.now() - releasedAt).toBeLessThan(5000);
      expect(reissued[0]?.holder).toBeUndefined(); // not yet taken by anyone

      // The released attempt is over: its late result and a second release are refused like any stale reply.
      await send({ type: "verified", jobId: first.jobId, attempt: 1, workerId: "ga", result: { ...result, speedup: 99 } });
      await send({ type: "released", jobId: first.jobId, attempt: 1, workerId: "ga", reason: "again" });
      await refusals(3);
      expect(remote.refused.slice(1).map((r) => r.reason)).toEqual([
        `reply for attempt 1 of job ${first.jobId}, which is at attempt 2`,
        `reply for attempt 1 of job ${first.jobId}, which is at attempt 2`,
      ]);
      expect((await jobs()).map((j) => j.job.attempt)).toEqual([2]);

      // Attempt 2 on another worker settles the job, once.
      const second = await take("gb");
      expect(second).toMatchObject({ jobId: first.jobId, attempt: 2 });
      await send({ type: "started", jobId: first.jobId, attempt: 2, workerId: "gb" });
      await send({ type: "verified", jobId: first.jobId, attempt: 2, workerId: "gb", result });
      const got = await verdict;
      expect(got.status === "ok" && got.speedup).toBe(1.5);
      expect(got.worker).toEqual({ id: "gb", host: "test", attempt: 2 });
      expect(remote.accepted.map((a) => [a.jobId, a.attempt, a.workerId, a.type])).toEqual([[first.jobId, 2, "gb", "verified"]]);

      // Released after it settled: not in flight any more, refused; nothing is issued again.
      await send({ type: "released", jobId: first.jobId, attempt: 2, workerId: "gb", reason: "late" });
      await refusals(4);
      expect(remote.refused[3]?.reason).toMatch(/not in flight/);
      expect(await inspector.xlen(JOBS)).toBe(0);
    } finally {
      await remote.close();
    }
  }, 60_000);
});
