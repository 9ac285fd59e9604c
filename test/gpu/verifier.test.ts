/**
 * The verifier on a real GPU (npm run test:gpu on an H100): every good fixture accepted with speedups,
 * every bad one rejected with the right rule or status (static on, and the dynamic rule behind each
 * static one), hangs killed within their limit with the next kernel verifying normally, and every
 * problem's reference agreeing with its FlexAttention baseline. (tools/verifier/harness/gpu_selftest.py
 * runs the same checks on hosts without Node.)
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config.ts";
import { loadProblem } from "../../problems/load.ts";
import { createVerifierPool, type VerifierPool } from "../../tools/verifier/pool.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { KERNELS, ROOT, kernel, manifest, type ManifestEntry } from "../verifier/helpers.ts";

const enabled = process.env["KFORGE_GPU_TESTS"] === "1";
const gpuFixtures = manifest().filter((k) => k.device === "cuda" && existsSync(join(KERNELS, k.file)));
const report: Array<Record<string, unknown>> = [];
let pool: VerifierPool;
let noStatic: VerifierPool;

function problemOf(k: ManifestEntry) {
  return loadProblem(k.problem.includes("/") ? join(ROOT, k.problem) : k.problem);
}

function matches(r: VerifyResult, e: Record<string, unknown>): boolean {
  return Object.entries(e).every(([f, v]) => (r as Record<string, unknown>)[f] === v);
}

describe.skipIf(!enabled)("verifier on the GPU", () => {
  beforeAll(() => {
    const config = loadConfig();
    pool = createVerifierPool(config, { limits: { compile: 90, correctness: 60, timing: 120 } });
    noStatic = createVerifierPool(config, { staticChecks: false, limits: { compile: 90, correctness: 60, timing: 120 } });
  });
  afterAll(async () => {
    await pool?.close();
    await noStatic?.close();
    if (process.env["OUT"]) writeFileSync(join(process.env["OUT"], "gpu-verifier-vitest.json"), `${JSON.stringify(report, null, 1)}\n`);
  });

  for (const k of gpuFixtures.filter((k) => !k.hang)) {
    it(`${k.file} -> ${k.expect.status}${k.expect.rule ? ` ${k.expect.rule}` : ""}`, async () => {
      const problem = problemOf(k);
      const r = await pool.verify({ problem, source: kernel(k.file) });
      report.push({ file: k.file, static: true, result: r });
      expect(matches(r, k.expect), JSON.stringify(r).slice(0, 2000)).toBe(true);
      if (r.status === "ok") {
        expect(r.speedup).toBeGreaterThan(0);
        for (const t of r.timings) expect(Object.keys(t.baselines)).toContain("flex");
      }
      if (k.withoutStatic) {
        const d = await noStatic.verify({ problem, source: kernel(k.file), timing: false });
        report.push({ file: k.file, static: false, result: d });
        expect(matches(d, k.withoutStatic), JSON.stringify(d).slice(0, 2000)).toBe(true);
      }
    }, 600_000);
  }

  for (const k of gpuFixtures.filter((k) => k.hang)) {
    it(`${k.file} is killed within its limit, then the next kernel verifies`, async () => {
      const hangPool = createVerifierPool(loadConfig(), { limits: { ...(k.limits ?? {}) } });
      try {
        const problem = problemOf(k);
        const t0 = performance.now();
        const r = await hangPool.verify({ problem, source: kernel(k.file), timing: false });
        const s = (performance.now() - t0) / 1000;
        report.push({ file: k.file, result: r, seconds: s });
        expect(r.status).toBe("timeout");
        expect(s).toBeLessThan(Math.max(...Object.values(k.limits ?? { compile: 20 })) + (r.phases.startMs ?? 0) / 1000 + 10);
        const next = await hangPool.verify({ problem: loadProblem("full"), source: kernel("good_full.py"), timing: false });
        expect(next.status).toBe("ok");
      } finally {
        await hangPool.close();
      }
    }, 600_000);
  }

  const problems = readdirSync(join(ROOT, "problems")).filter((n) => existsSync(join(ROOT, "problems", n, "problem.json")));
  for (const name of problems) {
    it(`problem ${name}: reference agrees with its FlexAttention baseline`, async () => {
      const r = await pool.referenceCheck(loadProblem(name));
      report.push({ problem: name, referenceCheck: r });
      expect(r.skipped).toBeUndefined();
      expect(r.passed, JSON.stringify(r.checks)).toBe(true);
    }, 600_000);
  }
});
