/**
 * The whole verify path on the CPU test problem, through real harness processes: warm spares, the fd-3
 * channel, per-phase limits, scrubbed environments, the baseline cache, every CPU fixture's verdict.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { createVerifierPool, type VerifierPool } from "../../tools/verifier/pool.ts";
import { CPU_TINY, KERNELS, kernel, manifest, testConfig, torchPython } from "./helpers.ts";

const cpuFixtures = manifest().filter((k) => k.device === "cpu");
let problem: LoadedProblem;
let pool: VerifierPool;
let tmpRoot: string;

beforeAll(() => {
  problem = loadProblem(CPU_TINY);
  tmpRoot = mkdtempSync(join(tmpdir(), "kforge-pool-test-"));
  pool = createVerifierPool(testConfig(), { problem, tmpRoot, limits: { compile: 6, correctness: 20 } });
});
afterAll(async () => {
  await pool?.close();
});

describe("CPU fixtures through the pool (static checks on)", () => {
  for (const k of cpuFixtures.filter((k) => !k.hang)) {
    it(`${k.file} -> ${k.expect.status}${k.expect.rule ? ` ${k.expect.rule}` : ""}`, async () => {
      const timing = k.expect.status === "ok";
      const r = await pool.verify({ problem, source: kernel(k.file), timing });
      const accepted = [k.expect, ...(k.alsoAccept ?? [])].some((e) => Object.entries(e).every(([f, v]) => (r as Record<string, unknown>)[f] === v));
      expect(accepted, JSON.stringify(r).slice(0, 1500)).toBe(true);
      if (r.status === "ok") {
        expect(r.checks.length).toBe(problem.spec.shapes.correctness.length * problem.spec.seeds);
        expect(r.timings[0]?.baselines["reference"]?.ms).toBeGreaterThan(0);
        expect(r.speedup).toBeGreaterThan(0);
      }
    }, 120_000);
  }
});

describe("dynamic rules behind the static ones", () => {
  it("catches threads, patched timers and forged results with static checks off", async () => {
    const noStatic = createVerifierPool(testConfig(), { staticChecks: false, tmpRoot });
    try {
      for (const k of cpuFixtures.filter((k) => k.withoutStatic)) {
        const r = await noStatic.verify({ problem, source: kernel(k.file), timing: false });
        expect(r, k.file).toMatchObject(k.withoutStatic ?? {});
      }
    } finally {
      await noStatic.close();
    }
  }, 240_000);
});

describe("isolation", () => {
  it("kills a hanging kernel within its limit, then verifies the next one normally", async () => {
    const t0 = performance.now();
    const r = await pool.verify({ problem, source: kernel("cpu/sleep.py"), timing: false });
    const elapsedS = (performance.now() - t0) / 1000;
    expect(r).toMatchObject({ status: "timeout", phase: "compile", limitS: 6 });
    expect(elapsedS).toBeLessThan(6 + (r.phases.startMs ?? 0) / 1000 + 3);
    const next = await pool.verify({ problem, source: kernel("cpu/good.py"), timing: false });
    expect(next.status).toBe("ok");
  }, 120_000);

  it("hides API keys from the candidate (and the fixture would notice them)", async () => {
    process.env["DEEPSEEK_API_KEY"] = "sk-test-should-not-leak";
    process.env["SOME_SERVICE_TOKEN"] = "t";
    try {
      const r = await pool.verify({ problem, source: kernel("cpu/env_probe.py"), timing: false });
      expect(r.status, JSON.stringify(r).slice(0, 800)).toBe("ok");
    } finally {
      delete process.env["DEEPSEEK_API_KEY"];
      delete process.env["SOME_SERVICE_TOKEN"];
    }
    // Positive control: run unsandboxed with a key set, the same module returns zeros.
    const probe = spawnSync(
      torchPython(),
      [
        "-c",
        `
import importlib.util, torch
s = importlib.util.spec_from_file_location("p", ${JSON.stringify(join(KERNELS, "cpu", "env_probe.py"))}); m = importlib.util.module_from_spec(s); s.loader.exec_module(m)
q = torch.ones(1, 1, 3, 16, dtype=torch.bfloat16)
print(float(m.attention(q, q, q, scale=0.25, cap=30.0).abs().sum()))`,
      ],
      { encoding: "utf8", env: { ...process.env, DEEPSEEK_API_KEY: "sk-x" } },
    );
    expect(probe.stdout.trim()).toBe("0.0");
  }, 120_000);

  it("removes each candidate's temp dir", async () => {
    await pool.verify({ problem, source: kernel("cpu/good.py"), timing: false });
    await new Promise((r) => setTimeout(r, 300));
    // Only warm spares (not yet used) may still own a directory.
    expect(readdirSync(tmpRoot).length).toBeLessThanOrEqual(2);
  }, 120_000);

  it("queues concurrent candidates on one lane", async () => {
    const [a, b] = await Promise.all([
      pool.verify({ problem, source: kernel("cpu/good.py"), timing: false }),
      pool.verify({ problem, source: kernel("cpu/wrong.py"), timing: false }),
    ]);
    expect([a.status, b.status]).toEqual(["ok", "wrong_output"]);
  }, 180_000);
});

describe("baseline cache", () => {
  it("measures once and reuses the persisted timings in a new pool", async () => {
    const config = testConfig();
    const file = join(config.home, "baselines.json");
    const first = createVerifierPool(config, { baselineFile: file, tmpRoot, warmSpares: false });
    const b1 = await first.measureBaseline(problem);
    await first.close();
    expect(Object.keys(b1.shapes)).toEqual(["1x2x2x64x16"]);
    expect(b1.shapes["1x2x2x64x16"]?.["reference"]?.ms).toBeGreaterThan(0);
    const onDisk = JSON.parse(readFileSync(file, "utf8")) as { entries: Record<string, unknown> };
    expect(Object.keys(onDisk.entries)[0]).toMatch(/^cpu_tiny\|[0-9a-f]{16}\|cpu\|torch /);
    const second = createVerifierPool(config, { baselineFile: file, tmpRoot, warmSpares: false });
    const b2 = await second.measureBaseline(problem);
    await second.close();
    expect(b2.measuredAt).toBe(b1.measuredAt);
  }, 180_000);
});
