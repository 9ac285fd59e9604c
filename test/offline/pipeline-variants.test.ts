import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { loadConfig, repoRoot } from "../../core/config.ts";

const root = repoRoot();
const python = loadConfig().python;
const script = join(root, "bench/offline/pipeline_variants.py");
const out = mkdtempSync(join(tmpdir(), "kforge-pipeline-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const hasTorch = spawnSync(python, ["-c", "import torch"]).status === 0;

function generate(): Record<string, Record<string, string>> {
  const r = spawnSync(python, [script, "--out", out, "--json", join(out, "pipeline.json")], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(readFileSync(join(out, "pipeline.json"), "utf8")) as Record<string, Record<string, string>>;
}

/** The text of the mask-free key loop's pipelined form (from its header to the epilogue). */
function pipelinedLoop(src: string): string {
  const start = src.indexOf("    for j in range(flo + 1, fhi):");
  expect(start).toBeGreaterThan(0);
  return src.slice(start, src.indexOf("    if flo < fhi:  # epilogue", start));
}

describe("software-pipelined key loops (bench/offline/pipeline_variants.py)", () => {
  it("renders a set file with the labels worth GPU time for every benchmarked problem", () => {
    const sets = generate();
    expect(Object.keys(sets).sort()).toEqual(["alibi", "causal", "full", "gqa", "prefix_lm", "relpos", "softcap"]);
    const labels = (p: string): string[] => Object.keys(sets[p] ?? {}).sort();
    expect(labels("full")).toEqual(["pv_defer", "pv_defer_w8", "qk_ahead"]); // qk_ahead: the control, timed once
    expect(labels("causal")).toEqual(["pv_defer", "pv_defer_all", "pv_defer_w8"]);
    expect(labels("gqa")).toEqual(["pv_defer", "pv_defer_w8"]);
    expect(sets["softcap"]?.["pv_defer"]).toMatch(/^[^/].*\/softcap_pv_defer\.py$/); // relative to the repo root, as quick_gpu reads it
  });

  it("pv_defer: S_j, then P.V of block j - 1 from the fp32 carry, then softmax(S_j), in that order", () => {
    generate();
    const src = readFileSync(join(out, "full_pv_defer.py"), "utf8");
    const loop = pipelinedLoop(src);
    const qk = loop.indexOf("qk = tl.dot(q, tl.trans(k))");
    const pv = loop.indexOf("acc = tl.dot(p_c.to(V.dtype.element_ty), v, acc * alpha_c[:, None])");
    const exp = loop.indexOf("p = tl.math.exp2(");
    expect(qk).toBeGreaterThan(0);
    expect(pv).toBeGreaterThan(qk);
    expect(exp).toBeGreaterThan(pv);
    expect(loop).toContain("start_v = (j - 1) * BLOCK_N");
    expect(loop).toContain("p_c = p\n"); // carried in fp32: cast to bf16 only after the next wait
    expect(src).toContain("p_c = tl.zeros([BLOCK_M, BLOCK_N], tl.float32)");
    expect(src).toContain("    if flo < fhi:  # prologue");
    // the masked head loop is pipelined too (ptxas serialises otherwise), the masked tail is not
    expect(src).toContain("    for j in range(lo + 1, flo):");
    expect(src).toContain("    for j in range(fhi, hi):  # masked key blocks");
    const all = readFileSync(join(out, "causal_pv_defer_all.py"), "utf8");
    expect(all).toContain("    for j in range(fhi + 1, hi):");
    expect(all).toContain("kv_okv = (start_v + offs_n) < S");
  });

  it("keeps both constexpr branches of softcap and uses 8 warps at D=64 only for _w8", () => {
    generate();
    const src = readFileSync(join(out, "softcap_pv_defer.py"), "utf8");
    expect(src.split("for j in range(flo + 1, fhi):").length - 1).toBe(2); // LIN_POS and its else branch
    const w8 = readFileSync(join(out, "softcap_pv_defer_w8.py"), "utf8");
    expect(w8).toMatch(/64: \(128, 64, 8, \d\)/);
    expect(src).toMatch(/64: \(128, 64, 4, \d\)/);
  });

  it("qk_ahead issues S_(j+1) before softmax(S_j) and carries the scores", () => {
    generate();
    const src = readFileSync(join(out, "full_qk_ahead.py"), "utf8");
    const start = src.indexOf("    for j in range(flo + 1, fhi - 1):");
    const loop = src.slice(start, src.indexOf("    if flo + 1 < fhi:", start));
    expect(loop.indexOf("qk_n = tl.dot(q, tl.trans(k))")).toBeLessThan(loop.indexOf("p = tl.math.exp2("));
    expect(loop).toContain("qk = qk_c");
    expect(loop).toContain("qk_c = qk_n");
  });

  it("passes the verifier's static checks", () => {
    generate();
    for (const f of ["causal_pv_defer_all.py", "full_qk_ahead.py", "prefix_lm_pv_defer_w8.py"]) {
      const check = "import sys; from kforge_harness.static_checks import check_source; print(check_source(sys.stdin.read()))";
      const r = spawnSync(python, ["-c", check], {
        input: readFileSync(join(out, f), "utf8"),
        encoding: "utf8",
        cwd: join(root, "tools/verifier/harness"),
      });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("[]");
    }
  });

  it("leaves a loop it does not know as it is (skip_empty's per-block branch)", () => {
    const code = `
import sys; sys.path.insert(0, ${JSON.stringify(join(root, "bench/offline"))})
import pipeline_variants as pv
src = pv.variant_source("causal", "pv_defer_all", {"skip_empty": True})
print(src.count("if may_j:"), src.count("for j in range(flo + 1, fhi):"))
`;
    const r = spawnSync(python, ["-c", code], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("2 1"); // both masked loops untouched, the mask-free one pipelined
  });

  it.skipIf(!hasTorch)("every label is correct on the CPU emulator (loops of 0, 1, 2, 3 and more blocks)", () => {
    const r = spawnSync(python, [script, "--emu"], { encoding: "utf8", timeout: 240_000 });
    const m = /pipeline emu: (\d+) checks, (\d+) failing/.exec(r.stdout);
    expect(m, r.stderr.slice(-2000)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(300);
    expect(Number(m![2])).toBe(0);
    expect(r.status).toBe(0);
  }, 250_000);
});
