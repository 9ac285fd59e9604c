/**
 * The KernelBench kind through the real verifier pool on the CPU lane (sandboxed harness processes): every candidate
 * fixture of test/fixtures/kernelbench/manifest.json gets its verdict, adversarial kernels adapted from KernelBench's
 * own tests among them; dynamic rules are checked behind the static ones with static checks off.
 */
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import { asPoolProblem } from "../../problems/kernelbench/pool-problem.ts";
import { createVerifierPool, type VerifierPool } from "../../tools/verifier/pool.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { ROOT, testConfig } from "../verifier/helpers.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "kernelbench");

interface Entry {
  file: string;
  problem: string;
  expect: { status: string; rule?: string };
  withoutStatic?: { status: string; rule?: string };
}
const entries = (JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as { kernels: Entry[] }).kernels;

let pool: VerifierPool;
let noStatic: VerifierPool;
beforeAll(() => {
  const tmpRoot = mkdtempSync(join(tmpdir(), "kforge-kb-test-"));
  pool = createVerifierPool(testConfig(), { tmpRoot, limits: { compile: 20, correctness: 40 } });
  noStatic = createVerifierPool(testConfig(), { tmpRoot, staticChecks: false, warmSpares: false });
});
afterAll(async () => {
  await pool?.close();
  await noStatic?.close();
});

function verify(p: VerifierPool, e: Entry, timing: boolean): Promise<VerifyResult> {
  const problem = asPoolProblem(loadKernelBenchProblem(join(FIXTURES, e.problem)));
  return p.verify({ problem, source: readFileSync(join(FIXTURES, e.file), "utf8"), timing });
}

describe("KernelBench candidates on the CPU lane", () => {
  for (const e of entries) {
    it(`${e.file} on ${e.problem} -> ${e.expect.status}${e.expect.rule ? ` ${e.expect.rule}` : ""}`, async () => {
      const r = await verify(pool, e, e.expect.status === "ok");
      expect(r, JSON.stringify(r).slice(0, 1200)).toMatchObject(e.expect);
      if (r.status === "ok") {
        // every distribution x seed checked under both rules; eager timed; torch.compile's absence explained
        expect(r.checks.length).toBe(8);
        expect(r.checks.every((c) => c.rules?.kernelbench && c.rules.kforge)).toBe(true);
        expect(new Set(r.checks.map((c) => c.case?.split(":")[0]))).toEqual(new Set(["kernelbench", "normal", "signed", "outliers"]));
        const t = r.timings[0];
        expect(t?.baselines["eager"]?.ms).toBeGreaterThan(0);
        expect(t?.speedup["eager"]).toBeGreaterThan(0);
        expect(r.speedup).toBe(t?.speedup["eager"]);
        if (!t?.baselines["compile"]) expect(t?.unavailable?.["compile"]).toMatch(/torch\.compile/);
      }
      if (r.status === "wrong_output") {
        // KernelBench's own rule on its own inputs would have passed it: the other distributions / kforge's rule catch it
        expect(r.checks.some((c) => c.case?.startsWith("kernelbench:") && c.rules?.kernelbench)).toBe(true);
        expect(r.checks.some((c) => !c.passed)).toBe(true);
      }
    }, 120_000);
  }
});

describe("dynamic rules behind the static ones (static checks off)", () => {
  it("catch a copied Model, threads, lazy outputs and patched timers", async () => {
    for (const e of entries.filter((x) => x.withoutStatic)) {
      const r = await verify(noStatic, e, false);
      expect(r, `${e.file}: ${JSON.stringify(r).slice(0, 600)}`).toMatchObject(e.withoutStatic ?? {});
    }
  }, 240_000);
});
