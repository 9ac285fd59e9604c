import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { proposeOfflineCandidates } from "../../agents/offline/policy.ts";
import { configKey } from "../../agents/offline/mutate.ts";
import { loadConfig, repoRoot } from "../../core/config.ts";
import { ProblemError } from "../../core/errors.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";

const root = repoRoot();
const python = loadConfig().python;
const softcap = join(root, "problems", "softcap");

function parses(src: string): boolean {
  return spawnSync(python, ["-c", "import ast,sys; ast.parse(sys.stdin.read())"], { input: src }).status === 0;
}

describe("proposeOfflineCandidates", () => {
  it("root: the default config first, then distinct neighbours, all rendered", async () => {
    const out = await proposeOfflineCandidates({ problemDir: softcap, n: 4, seed: 1, python, root });
    expect(out).toHaveLength(4);
    expect(out[0]!.idea).toBe("offline template, default config");
    expect(new Set(out.map((p) => configKey(p.config))).size).toBe(4);
    for (const p of out) {
      expect(parses(p.source)).toBe(true);
      expect(p.source).toContain("def attention(");
    }
  });
  it("root expanded again: nothing in `exclude` comes back, the default config included", async () => {
    const first = await proposeOfflineCandidates({ problemDir: softcap, n: 4, seed: 1, python, root });
    const tried = new Set(first.map((p) => configKey(p.config)));
    const again = await proposeOfflineCandidates({ problemDir: softcap, n: 4, seed: 1, python, root, exclude: new Set(tried) });
    expect(again).toHaveLength(4);
    expect(again.map((p) => p.idea)).not.toContain("offline template, default config");
    for (const p of again) expect(tried.has(configKey(p.config)), p.idea).toBe(false);
    expect(new Set(again.map((p) => configKey(p.config))).size).toBe(4);
  });
  it("child of an ok parent: seeded, and the idea shows in the rendered tiles", async () => {
    const parentConfig = (await proposeOfflineCandidates({ problemDir: softcap, n: 1, seed: 1, python, root }))[0]!.config;
    const ok: VerifyResult = { status: "ok", checks: [], timings: [], speedup: 2.1, tflops: 430, phases: { totalMs: 1 } };
    const a = await proposeOfflineCandidates({ problemDir: softcap, parentConfig, parentResult: ok, n: 3, seed: 9, python, root });
    const b = await proposeOfflineCandidates({ problemDir: softcap, parentConfig, parentResult: ok, n: 3, seed: 9, python, root });
    expect(a.map((p) => p.idea)).toEqual(b.map((p) => p.idea));
    for (const p of a) {
      const m = /^D=(\d+): (\w+) (\d+)->(\d+)$/.exec(p.idea);
      if (m) expect(p.config.tiles[m[1]!]![m[2]! as "BLOCK_M"]).toBe(Number(m[4]));
    }
  });
  it("after an out-of-resources compile error, only shrinking tile changes", async () => {
    const parentConfig = { tiles: { "128": { BLOCK_M: 128, BLOCK_N: 128, num_warps: 8, num_stages: 3 } } };
    const err: VerifyResult = {
      status: "compile_error",
      message: "triton.runtime.errors.OutOfResources: out of resource: shared memory",
      phases: { totalMs: 1 },
    };
    const out = await proposeOfflineCandidates({ problemDir: softcap, parentConfig, parentResult: err, n: 3, seed: 3, python, root });
    expect(out.length).toBeGreaterThan(0);
    for (const p of out) {
      const m = /: (\w+) (\d+)->(\d+)$/.exec(p.idea);
      expect(m, p.idea).not.toBeNull();
      expect(Number(m![3])).toBeLessThan(Number(m![2]));
    }
  });
  it("after wrong output, precision-safe switches first", async () => {
    const wrong: VerifyResult = { status: "wrong_output", message: "max error 0.3 > 0.02", checks: [], phases: { totalMs: 1 } };
    const out = await proposeOfflineCandidates({
      problemDir: softcap,
      parentConfig: { tanh_bf16x2: true },
      parentResult: wrong,
      n: 2,
      seed: 5,
      python,
      root,
    });
    expect(out.map((p) => p.idea)).toEqual(expect.arrayContaining(["tanh_bf16x2 on->off"]));
  });
  it("a problem outside the subset is a ProblemError naming the construct", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const dir = mkdtempSync("/tmp/kforge-bad-problem-");
    writeFileSync(
      join(dir, "reference.py"),
      "import torch\ndef make_score_mod(**_):\n    def f(score, b, h, q_idx, kv_idx):\n        return torch.lgamma(score)\n    return f\ndef make_mask_mod(**_):\n    return None\n",
    );
    await expect(proposeOfflineCandidates({ problemDir: dir, seed: 1, python, root })).rejects.toThrow(ProblemError);
    await expect(proposeOfflineCandidates({ problemDir: dir, seed: 1, python, root })).rejects.toThrow(/torch.lgamma/);
  });
});
