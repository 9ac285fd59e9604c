/**
 * Baselines per GPU model: a job carries the baselines the orchestrator knows, one per model, and a worker
 * computes a speedup only against its own model's (measuring it when absent), never another GPU's.
 * Profiling jobs run on the worker too. One real `kforge worker` (its model is "cpu"), the orchestrator's
 * RemoteVerifier in this process.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import { RemoteVerifier } from "../../tools/queue/remote-verifier.ts";
import type { BaselineTimings } from "../../tools/verifier/types.ts";
import { type Kforge, startKforge } from "../search/cli-process.ts";
import { CPU_TINY, KERNELS, torchPython } from "../verifier/helpers.ts";
import { RedisServer } from "./redis-server.ts";

let redis: RedisServer;
let worker: Kforge;
let remote: RemoteVerifier;
const problem = loadProblem(CPU_TINY);
const good = readFileSync(join(KERNELS, "cpu", "good.py"), "utf8");

/** The same timings, `factor` times slower: a kernel's speedup against them is `factor` times larger. */
function slower(b: BaselineTimings, factor: number, gpu: string): BaselineTimings {
  const shapes = Object.fromEntries(
    Object.entries(b.shapes).map(([s, byName]) => [
      s,
      Object.fromEntries(Object.entries(byName).map(([n, t]) => [n, { ms: t.ms * factor, tflops: t.tflops / factor }])),
    ]),
  );
  return { ...b, gpu, shapes };
}

beforeAll(async () => {
  redis = await RedisServer.start();
  worker = startKforge(["worker", "--queue", redis.url, "--id", "base-w1"], {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-base-")),
    KFORGE_PYTHON: torchPython(),
    NO_COLOR: "1",
  });
  remote = new RemoteVerifier(parseQueueUrl(redis.url), { leaseMs: 10_000 });
});
afterAll(async () => {
  await remote?.close();
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await redis?.down();
});

describe("profiling on a worker", () => {
  it("a profile job runs the worker's Nsight Compute and its outcome comes back (here: no ncu on this host)", async () => {
    const outcome = await remote.profile({ problem, source: good, candidateId: "p1" });
    expect(outcome.status).toBe("unavailable");
    expect(outcome.status === "unavailable" && outcome.reason).toMatch(/Nsight Compute \(ncu\) not found/);
    expect(remote.accepted.at(-1)).toMatchObject({ workerId: "base-w1", type: "profiled" });
  }, 60_000);
});

describe("baselines per GPU model", () => {
  it("a speedup is against the worker's own GPU model's baseline, never another model's", async () => {
    const own = await remote.measureBaseline(problem);
    expect(own.gpu).toBe("cpu");
    // Another model's baseline, 1000x slower: were it used, the speedup would be some 1000x.
    const other = await remote.verify({ problem, source: good, baseline: slower(own, 1000, "NVIDIA H100 80GB HBM3") });
    expect(other.status).toBe("ok");
    expect(other.status === "ok" && other.speedup).toBeLessThan(20);
    // Positive control: the same slowdown under the worker's own model is used, and shows.
    const same = await remote.verify({ problem, source: good, baseline: slower(own, 1000, "cpu") });
    expect(same.status === "ok" && same.speedup).toBeGreaterThan(100);
    expect(remote.accepted.slice(-3).map((a) => [a.workerId, a.gpu, a.type])).toEqual([
      ["base-w1", "cpu", "baseline"],
      ["base-w1", "cpu", "verified"],
      ["base-w1", "cpu", "verified"],
    ]);
  }, 90_000);
});
