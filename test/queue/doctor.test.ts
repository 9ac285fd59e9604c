/**
 * `kforge doctor --queue` and Redis AUTH through real processes: the queue and each live worker (host, GPUs,
 * versions, sandbox layers, last heartbeat); a wrong password refused with a clear message, never printed back.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kforge, runKforge, startKforge } from "../search/cli-process.ts";
import { torchPython } from "../verifier/helpers.ts";
import { RedisServer } from "./redis-server.ts";

const PASSWORD = "doctor-test-pass";
let redis: RedisServer;
let worker: Kforge;

function env(): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-doctor-")),
    KFORGE_PYTHON: torchPython(),
    NO_COLOR: "1",
    KFORGE_QUEUE_LEASE_S: "4",
  };
}

beforeAll(async () => {
  redis = await RedisServer.start({ password: PASSWORD });
  worker = startKforge(["worker", "--queue", redis.url, "--id", "doc-w1"], env());
  const end = Date.now() + 40_000;
  while (!/serving/.test(worker.stdout())) {
    if (Date.now() > end) throw new Error(`the worker did not start:\n${worker.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await redis?.down();
});

describe("kforge doctor --queue", () => {
  it("shows the queue and each worker: host, GPUs, versions, sandbox layers, last heartbeat", async () => {
    const r = await runKforge(["doctor", "--queue", redis.url, "--json"], env());
    const checks = JSON.parse(r.stdout) as Array<{ name: string; status: string; detail: string; worker?: Record<string, unknown> }>;
    const queue = checks.find((c) => c.name === "queue");
    expect(queue, r.stdout).toMatchObject({ status: "ok" });
    expect(queue?.detail).toMatch(
      /^redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(Redis \d+\.\d+\.\d+\); jobs cuda: 0 waiting, 0 running; cpu: 0 waiting, 0 running$/,
    );
    const w = checks.find((c) => c.name === "worker doc-w1");
    expect(w?.status).toBe("ok");
    expect(w?.detail).toMatch(
      /no GPU \(CPU lane only\); kforge 0\.1\.0, node \d+\.\d+\.\d+, python 3\.\d+\.\d+, torch \S+, triton .*; sandbox \d+\/\d+ layers \(\w+\); busy 0\/1, done 0; last heartbeat \d+\.\ds ago/,
    );
    expect(w?.worker).toMatchObject({ workerId: "doc-w1", lanes: { cuda: 0, cpu: 1 }, sandbox: { ok: true } });
    expect(Date.now() - Number(w?.worker?.["beatAt"])).toBeLessThan(5_000);
    expect(r.stdout).not.toContain(PASSWORD);
  }, 60_000);

  it("a stopped worker leaves the list at once", async () => {
    const e = env();
    const other = startKforge(["worker", "--queue", redis.url, "--id", "doc-w2"], e);
    while (!/serving/.test(other.stdout()) && other.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const before = JSON.parse((await runKforge(["doctor", "--queue", redis.url, "--json"], e)).stdout) as Array<{ name: string }>;
    expect(before.map((c) => c.name)).toContain("worker doc-w2");
    other.child.kill("SIGTERM");
    expect(await other.exited).toBe(0);
    const after = JSON.parse((await runKforge(["doctor", "--queue", redis.url, "--json"], e)).stdout) as Array<{ name: string }>;
    expect(after.map((c) => c.name)).not.toContain("worker doc-w2");
  }, 60_000);

  it("a wrong password is refused, by the worker and the doctor, without printing it", async () => {
    const wrong = `redis://:not-the-password@127.0.0.1:${redis.port}`;
    const w = await runKforge(["worker", "--queue", wrong, "--id", "intruder"], env());
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/authentication failed/);
    expect(w.stderr + w.stdout).not.toContain("not-the-password");
    const d = await runKforge(["doctor", "--queue", wrong, "--json"], env());
    const queue = (JSON.parse(d.stdout) as Array<{ name: string; status: string; detail: string }>).find((c) => c.name === "queue");
    expect(queue?.status).toBe("missing");
    expect(queue?.detail).toMatch(/authentication failed/);
    expect(d.stdout).not.toContain("not-the-password");
    const none = await runKforge(["worker", "--queue", `redis://127.0.0.1:${redis.port}`], env());
    expect(none.stderr).toMatch(/authentication failed|NOAUTH/);
  }, 60_000);

  it("a worker asked to stop while Redis is down still exits, at once", async () => {
    const w = startKforge(["worker", "--queue", redis.url, "--id", "doc-w3"], env());
    while (!/serving/.test(w.stdout()) && w.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    await redis.down();
    try {
      const t0 = Date.now();
      w.child.kill("SIGTERM");
      expect(await w.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await redis.up();
    }
  }, 60_000);
});
