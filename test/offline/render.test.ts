import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";

const root = repoRoot();
// The interpreter with torch that every Python test uses (KFORGE_PYTHON, python3 or /usr/bin/python3), or a loud failure.
const python = torchPython();
// The CPU Triton emulator is slow and load-sensitive (minutes on a busy 2-core machine): a test here gives up only when
// its child process does, never at vitest's default 60 s.
const EMULATOR_MS = 540_000;
vi.setConfig({ testTimeout: EMULATOR_MS + 30_000 });
const problems = readdirSync(join(root, "problems")).filter((d) => existsSync(join(root, "problems", d, "problem.json")));

function render(problem: string, config = "{}"): string {
  return execFileSync(python, [join(root, "tools/offline/render.py"), "--problem", join(root, "problems", problem), "--config", config], {
    encoding: "utf8",
  });
}

function parsesAsPython(source: string): { ok: boolean; err: string } {
  const r = spawnSync(python, ["-c", "import ast,sys; ast.parse(sys.stdin.read())"], { input: source, encoding: "utf8" });
  return { ok: r.status === 0, err: r.stderr };
}

/** What each problem's generated hooks (the module below the template's HOOKS marker) must contain. */
const expectedHooks: Record<string, string[]> = {
  causal: ["def _classify(", "_i0 = k_lo <= q_hi", "return (q_idx >= kv_idx)"],
  softcap: ["return _tanh_fast((qk * _u1)), _u2", "(float(_host_scalar(params['cap'])) * 1.4426950408889634)) > 0"],
  softcap_causal: ["_tanh_fast(", "k_lo <= q_hi"],
  alibi: ["t_slopes = params['slopes']", "tl.load(t_slopes + h * t_slopes_s0"],
  relpos: ["kv_idx * 1.4426950408889634"],
  document: ["_block_minmax[", "kmin_doc_ids", "qmin_doc_ids"],
  natten_2d: ["p_grid_w", "p_radius", "//", "GRID2D=True"],
  sliding_window: ["p_window", "k_lo <= q_hi"],
  prefix_lm: ["p_prefix"],
  gqa: ["HAS_MASK=False", "STEP=1"],
};

/** The generated part of a module: everything after the template's HOOKS marker line. */
function hooksOf(src: string): string {
  const at = src.indexOf("# ==== HOOKS:");
  expect(at).toBeGreaterThan(0);
  return src.slice(src.indexOf("\n", at));
}

describe("offline template renders every problem", () => {
  it("finds the suite", () => {
    expect(problems.length).toBeGreaterThanOrEqual(12);
  });
  for (const p of problems) {
    it(`${p}: valid Python with the contract's entry point and its hooks`, () => {
      const src = render(p);
      const parsed = parsesAsPython(src);
      expect(parsed.err).toBe("");
      expect(parsed.ok).toBe(true);
      expect(src).toContain("def attention(q, k, v, *, scale, **params):");
      expect(src).toContain("@triton.jit");
      expect(src).toContain("tl.math.exp2");
      expect(src).not.toMatch(/\bimport (os|subprocess|threading)\b/);
      // the template verbatim, then only hooks and the config block
      const template = readFileSync(join(root, "tools/offline/kernel_template.py"), "utf8");
      expect(src.startsWith(template.slice(0, template.indexOf("\n", template.indexOf("# ==== HOOKS:")) + 1))).toBe(true);
      for (const hook of expectedHooks[p] ?? []) expect(hooksOf(src)).toContain(hook);
    });
  }
  it("tile config reaches the launch table and variant switches change the code", () => {
    const a = render("softcap", JSON.stringify({ tiles: { "128": { BLOCK_M: 128, BLOCK_N: 32, num_warps: 8, num_stages: 2 } } }));
    expect(a).toContain("128: (128, 32, 8, 2)");
    const b = hooksOf(render("softcap", JSON.stringify({ tanh_bf16x2: true, static_max: false })));
    expect(hooksOf(render("softcap", JSON.stringify({ static_max: true })))).toContain("return abs((float(_host_scalar(params['cap']))");
    expect(b).toContain("_tanh_bf16x2((qk * _u1))");
    expect(b).not.toContain("return abs(");
    expect(hooksOf(render("causal", JSON.stringify({ block_sparse: true })))).toContain("BLOCK_SPARSE=True");
  });
  it("rejects a malformed config naming the key", () => {
    const r = spawnSync(python, [join(root, "tools/offline/render.py"), "--problem", join(root, "problems/full"), "--config", '{"BLOCK_M": 100}'], {
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("BLOCK_M");
  });
});

describe("rendered kernels are correct on the CPU Triton emulator", () => {
  // Needs torch (Debian's python3-torch in CI); the emulator runs every program as Python.
  it("every problem, small tiles, against its float64 reference", () => {
    const r = spawnSync(python, [join(root, "test/offline/emu_check.py"), "--config", '{"BLOCK_M":32,"BLOCK_N":16}', "--max-s", "200"], {
      encoding: "utf8",
      timeout: EMULATOR_MS,
    });
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(r.status).toBe(0);
  });
  for (const fixture of ["full", "causal", "softcap"]) {
    it(`hand-written fixture good_${fixture}.py`, () => {
      const r = spawnSync(
        python,
        [join(root, "test/offline/emu_check.py"), "--problem", fixture, "--kernel", join(root, `test/fixtures/kernels/good_${fixture}.py`)],
        {
          encoding: "utf8",
          timeout: EMULATOR_MS,
        },
      );
      expect(r.stdout).toContain("emu_check: 0 failing");
    });
  }
  it("the check can fail: a wrong causal mask is caught", () => {
    const broken = render("causal").replace("k_lo <= q_hi", "k_lo <= q_hi + 64").replace("(q_idx >= kv_idx)", "(q_idx + 1 >= kv_idx)");
    const r = spawnSync(python, ["-c", `import sys; open(sys.argv[1], "w").write(sys.stdin.read())`, "/tmp/kforge_broken_causal.py"], {
      input: broken,
    });
    expect(r.status).toBe(0);
    const c = spawnSync(python, [join(root, "test/offline/emu_check.py"), "--problem", "causal", "--kernel", "/tmp/kforge_broken_causal.py"], {
      encoding: "utf8",
      timeout: EMULATOR_MS,
    });
    expect(c.status).toBe(1);
  });
});
