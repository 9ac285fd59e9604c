import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";

// The offline template as real source: kernel_template.py plus generated hooks, from the typed IR (tools/offline/ir.py).
const root = repoRoot();
// The interpreter with torch that every Python test uses (KFORGE_PYTHON, python3 or /usr/bin/python3), or a loud failure.
const python = torchPython();
// The CPU Triton emulator is slow and load-sensitive (minutes on a busy 2-core machine): a test here gives up only when
// its child process does, never at vitest's default 60 s.
const EMULATOR_MS = 540_000;
vi.setConfig({ testTimeout: EMULATOR_MS + 30_000 });
const fixtures = join(root, "test/offline/fixtures");
const dir = mkdtempSync(join(tmpdir(), "kforge-template-"));
const SMALL = { BLOCK_M: 32, BLOCK_N: 16 };

function renderPy(problemDir: string, args: string[] = []): string {
  return execFileSync(python, [join(root, "tools/offline/render.py"), "--problem", problemDir, ...args], { encoding: "utf8" });
}

function emuCheck(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(python, [join(root, "test/offline/emu_check.py"), ...args], { encoding: "utf8", timeout: EMULATOR_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function okRows(stdout: string): number {
  return stdout.split("\n").filter((l) => l.includes('"ok": true')).length;
}

describe("the typed IR and its JSON form", () => {
  it("a front end's JSON renders the same module as translating reference.py", () => {
    for (const p of [join(root, "problems/document"), join(fixtures, "nested_index"), join(root, "problems/softcap_causal")]) {
      const json = execFileSync(python, [join(root, "tools/offline/translate.py"), join(p, "reference.py")], { encoding: "utf8" });
      const file = join(dir, `mods_${p.split("/").pop()}.json`);
      writeFileSync(file, json);
      expect(renderPy(p, ["--ir", file])).toBe(renderPy(p));
    }
  });
  it("nested and multi-dimensional loads, clamp and captured tensors of any rank reach the IR", () => {
    const mods = JSON.parse(
      execFileSync(python, [join(root, "tools/offline/translate.py"), join(fixtures, "bias_table/reference.py")], { encoding: "utf8" }),
    );
    expect(mods.version).toBe(1);
    expect(mods.tensors).toEqual({ table: { rank: 2, dtype: "float32" } });
    expect(mods.scalars).toEqual(["radius"]);
    expect(JSON.stringify(mods.score)).toContain('{"call":"clamp","args":[');
    const nested = JSON.parse(
      execFileSync(python, [join(root, "tools/offline/translate.py"), join(fixtures, "nested_index/reference.py")], { encoding: "utf8" }),
    );
    expect(nested.score.b).toEqual({
      load: "table",
      index: [{ var: "h" }, { load: "dist", index: [{ var: "b" }, { var: "q_idx" }, { var: "kv_idx" }] }],
    });
  });
  it("a malformed IR document is refused naming what to fix", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ version: 1, score: { load: "table", index: [{ var: "h" }] }, mask: null, scalars: [], tensors: {} }));
    const r = spawnSync(python, [join(root, "tools/offline/render.py"), "--problem", join(root, "problems/full"), "--ir", file], {
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Load('table') reads an undeclared tensor");
  });
});

describe("kernel_template.py is real source", () => {
  it("imports on its own and its default hooks are plain attention, correct on the emulator", () => {
    const r = emuCheck(["--problem", "full", "--problem", "gqa", "--kernel", join(root, "tools/offline/kernel_template.py")]);
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(okRows(r.stdout)).toBe(10); // every correctness shape up to S = 300 of both problems
  });
  it("computes bit for bit what the string renderer's modules did (every suite problem, default config)", () => {
    const script = join(root, "test/offline/same_as_before.py");
    const r = spawnSync(python, [script], { encoding: "utf8", timeout: EMULATOR_MS });
    expect(r.stdout).toContain("same_as_before: 0 differing");
    expect(r.stdout.split("\n").filter((l) => l.endsWith(": identical")).length).toBe(12);
    // and the comparison can fail: folding the scale into q changes the rounding of every score problem
    const q = spawnSync(python, [script, "--config", JSON.stringify({ ...SMALL, qscale: true })], { encoding: "utf8", timeout: EMULATOR_MS });
    expect(q.status).toBe(1);
    expect(q.stdout).toMatch(/softcap: DIFFERENT/);
  });
  it("block-sparse modules pass the verifier's static checks", () => {
    const r = spawnSync(python, ["-c", "import sys; from kforge_harness.static_checks import check_source; print(check_source(sys.stdin.read()))"], {
      input: renderPy(join(fixtures, "nested_index")),
      encoding: "utf8",
      cwd: join(root, "tools/verifier/harness"),
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("[]");
  });
});

describe("captured tensors, block sparsity, S_q != S_kv and fp16 on the CPU emulator", () => {
  // calls: every lowered call and captured bool/int64 tensors, its mods from mods.json (the IR a tracer emits);
  // bias_only: a score_mod that ignores the score
  const fx = ["bias_table", "nested_index", "dilated_window", "calls", "bias_only"].flatMap((f) => ["--problem", join(fixtures, f)]);
  it("masks the classifier cannot bound default to the block-sparse path; bounded ones do not", () => {
    expect(renderPy(join(fixtures, "dilated_window"))).toContain("BLOCK_SPARSE=True");
    expect(renderPy(join(fixtures, "nested_index"))).toContain("BLOCK_SPARSE=True");
    expect(renderPy(join(root, "problems/sliding_window"))).toContain("BLOCK_SPARSE=False");
  });
  it("bias table, nested index, dilated window and every call, through the block-sparse and interval paths", () => {
    const configs = [SMALL, { BLOCK_M: 16, BLOCK_N: 32, block_sparse: false, skip_empty: true, tma: true }];
    const r = emuCheck([...fx, ...configs.flatMap((c) => ["--config", JSON.stringify(c)])]);
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(okRows(r.stdout)).toBe(5 * 4 * 2);
  });
  it("every suite mask through the block-sparse path", () => {
    const cfg = { ...SMALL, block_sparse: true, grid2d: false };
    const r = emuCheck([
      "--config",
      JSON.stringify(cfg),
      "--config",
      JSON.stringify({ ...cfg, BLOCK_M: 16, mask_split: false, qscale: true }),
      "--max-s",
      "200",
    ]);
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(r.status).toBe(0);
  });
  it("S_q != S_kv (longer and shorter keys), plain indices as FlexAttention aligns them", () => {
    const problems = ["full", "causal", "gqa", "softcap_causal", "alibi_causal", "relpos", "sliding_window", "prefix_lm", "natten_2d"].flatMap(
      (p) => ["--problem", p],
    );
    for (const off of ["23", "-9"]) {
      const r = emuCheck([
        ...problems,
        ...fx,
        "--skv-offset",
        off,
        "--config",
        JSON.stringify(SMALL),
        "--config",
        JSON.stringify({ ...SMALL, block_sparse: true, tma: true }),
        "--max-s",
        "200",
      ]);
      expect(r.stdout, `offset ${off}`).toContain("emu_check: 0 failing");
      expect(r.stdout).toMatch(/"shape": \[2, 3, 3, 17, (40|8), 64\]/);
    }
  });
  it("fp16 inputs: every suite problem and the fixtures (the static max falls back for fp16)", () => {
    const r = emuCheck([
      "--dtype",
      "fp16",
      ...fx,
      "--config",
      JSON.stringify(SMALL),
      "--config",
      JSON.stringify({ ...SMALL, static_max: true, block_sparse: true }),
      "--max-s",
      "200",
    ]);
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(r.stdout).toContain('"dtype": "fp16"');
    const suite = emuCheck(["--dtype", "fp16", "--config", JSON.stringify(SMALL), "--max-s", "200"]);
    expect(suite.stdout).toContain("emu_check: 0 failing");
  });
  it("the emulator truncates integer // and % as Triton does, so the floor fix-ups are checked", () => {
    const src = renderPy(join(fixtures, "calls"), ["--config", JSON.stringify(SMALL)]);
    const fixup = "    return tl.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)";
    expect(src).toContain(fixup);
    const file = join(dir, "no_floor_mod.py");
    writeFileSync(file, src.replace(fixup, "    return r"));
    const r = emuCheck(["--problem", join(fixtures, "calls"), "--kernel", file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/emu_check: [1-9]\d* failing/);
  });
  it("the check can fail: a wrong block classification is caught", () => {
    const src = renderPy(join(fixtures, "dilated_window"), ["--config", JSON.stringify(SMALL)]);
    const breaks = [
      // partial blocks taken as full: the mask is skipped where it drops keys
      ["full = (n_keep == n_valid) & (j * BLOCK_N + BLOCK_N <= S_KV)", "full = (n_keep > 0) & (j * BLOCK_N + BLOCK_N <= S_KV)"],
      // the block nearest the diagonal dropped as if empty
      ["part = (n_keep > 0) & ~full", "part = (n_keep > 0) & ~full & (j * BLOCK_N + BLOCK_N <= pid_m * BLOCK_M)"],
    ] as const;
    for (const [from, to] of breaks) {
      expect(src).toContain(from);
      const file = join(dir, "broken_block_mask.py");
      writeFileSync(file, src.replace(from, to));
      const r = emuCheck(["--problem", join(fixtures, "dilated_window"), "--kernel", file]);
      expect(r.status, to).toBe(1);
      expect(r.stdout).toMatch(/emu_check: [1-9]\d* failing/);
    }
  });
});
