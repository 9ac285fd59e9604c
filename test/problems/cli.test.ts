/** `kforge problems`, `problems show`, and `problems new` end to end (real CLI subprocesses, real Python). */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { loadProblem, problemsDir } from "../../problems/load.ts";
import { checkReferences, kforge, kforgeInProcess as run, torchPython } from "./helpers.ts";

/** Tests that start Python with torch get more time: CI machines are small and busy. */
const SLOW = 180_000;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "kforge-new-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe("kforge problems", () => {
  it("lists the suite, as text and as JSON (real subprocess)", () => {
    const text = kforge(["problems"]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^softcap\s+tanh soft-capping .*\[softcap\]$/m);
    const json = kforge(["problems", "list", "--json"]);
    const list = JSON.parse(json.stdout) as { name: string; baseline: string }[];
    expect(list.map((p) => p.name)).toContain("natten_2d");
    expect(list).toHaveLength(12);
  }, SLOW);

  it("shows one problem with its params, shapes, reference and prompt", async () => {
    const r = await run(["problems", "show", "softcap"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('params: {"cap":30}');
    expect(r.stdout).toContain("benchmark shapes:   4x16x4096x128  2x32x8192x64");
    expect(r.stdout).toContain("return cap * torch.tanh(score / cap)");
    expect(r.stdout).toContain("def attention(q, k, v, *, scale: float, cap: float)");
  });

  it("fails with exit code 2 and the known names for an unknown problem", async () => {
    const r = await run(["problems", "show", "softcapp"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no problem "softcapp"');
    expect(r.stderr).toContain("known problems: alibi");
  });
});

describe("kforge problems new", () => {
  it("scaffolds a problem from score_mod and mask_mod files that loads and matches the suite's math", async () => {
    const score = file("capped.py", 'import torch\n\nCAP = 30\n\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    """tanh-capped scores"""\n    return CAP * torch.tanh(score / CAP)\n');
    const mask = file("window.py", "WINDOW = 1024\n\ndef sliding(b, h, q_idx, kv_idx):\n    causal = q_idx >= kv_idx\n    return causal & (q_idx - kv_idx < WINDOW)\n");
    const r = await run(["problems", "new", "capped_window", "--score-mod", score, "--mask-mod", mask, "--dir", tmp]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const p = loadProblem(join(tmp, "capped_window"));
    expect(p.spec.params).toEqual({ CAP: 30, WINDOW: 1024 });
    expect(p.spec.tags).toEqual(["softcap", "causal", "mask", "windowed"]);
    expect(p.spec.description).toBe("tanh-capped scores");
    expect(p.prompt).toContain("def attention(q, k, v, *, scale: float, CAP: int, WINDOW: int)");
    // The generated reference evaluates the user's mods; it must run and agree with itself in every dtype.
    const report = checkReferences([{ dir: p.dir }]).get("capped_window");
    expect(report?.error).toBeUndefined();
    for (const row of report?.shapes ?? []) expect(row).toMatchObject({ finite: true, shapeOk: true, emptyRows: 0 });
    // ... and equal the suite's softcap reference when the mask is dropped.
    const scoreOnly = await run(["problems", "new", "capped", "--score-mod", score, "--dir", tmp]);
    expect(scoreOnly.status).toBe(0);
    expect(loadProblem(join(tmp, "capped")).spec.tags).toEqual(["softcap"]);
    const compare = [
      "import importlib.util, torch",
      "def load(p):",
      "    s = importlib.util.spec_from_file_location('m' + str(abs(hash(p))), p); m = importlib.util.module_from_spec(s); s.loader.exec_module(m); return m",
      `a, b = load(${JSON.stringify(join(tmp, "capped", "reference.py"))}), load(${JSON.stringify(join(problemsDir(), "softcap", "reference.py"))})`,
      "q, k, v = (torch.randn(2, 3, 45, 64, dtype=torch.float64) * 4 for _ in range(3))",
      "print((a.reference(q, k, v, scale=0.125, CAP=30) - b.reference(q, k, v, scale=0.125, cap=30)).abs().max().item())",
    ].join("\n");
    expect(Number(execFileSync(torchPython(), ["-c", compare], { encoding: "utf8" }))).toBeLessThan(1e-12);
  }, SLOW);

  it("infers tags for ALiBi, documents and 2-D neighbourhoods", async () => {
    const src = file(
      "mixed.py",
      [
        'slopes = "alibi"',
        'docs = "random_docs(4)"',
        "GRID_W = 16",
        "def score_mod(score, b, h, q_idx, kv_idx):",
        "    return score + slopes[h] * (kv_idx - q_idx)",
        "def mask_mod(b, h, q_idx, kv_idx):",
        "    near = torch.abs(q_idx // GRID_W - kv_idx // GRID_W) <= 2",
        "    return near & (docs[q_idx] == docs[kv_idx])",
        "",
      ].join("\n"),
    );
    const r = await run(["problems", "new", "mixed", "--score-mod", src, "--mask-mod", src, "--dir", tmp]);
    expect(r.status).toBe(0);
    const p = loadProblem(join(tmp, "mixed"));
    expect(p.spec.params).toEqual({ slopes: "alibi", docs: "random_docs(4)", GRID_W: 16 });
    expect(p.spec.tags).toEqual(["bias", "alibi", "mask", "windowed", "document", "2d"]);
    const report = checkReferences([{ dir: p.dir }]).get("mixed");
    expect(report?.error).toBeUndefined();
    // What the scaffolder accepts, the offline template's translator must accept too.
    for (const name of ["mixed", "capped_window"]) {
      const translate = join(repoRoot(), "tools", "offline", "translate.py");
      expect(() => execFileSync(torchPython(), [translate, join(tmp, name, "reference.py")], { encoding: "utf8" })).not.toThrow();
    }
  }, SLOW);

  it("rejects an unsupported construct, naming the file, the line and the fix, and writes nothing", async () => {
    const src = file("branchy.py", "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    if q_idx > kv_idx:\n        return score\n    return score * 2\n");
    const r = await run(["problems", "new", "branchy", "--score-mod", src, "--dir", tmp]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${src}:4: unsupported construct in score_mod: \`if\` statement: use torch.where(cond, a, b)`);
    expect(existsSync(join(tmp, "branchy"))).toBe(false);
  });

  it("rejects a wrong arity, a method call, a captured tensor and a bad name", async () => {
    const arity = file("arity.py", "def score_mod(score, q_idx, kv_idx):\n    return score\n");
    expect((await run(["problems", "new", "arity", "--score-mod", arity, "--dir", tmp])).stderr).toContain(
      "score_mod takes 3 arguments; a FlexAttention score_mod takes 5: score_mod(score, b, h, q_idx, kv_idx)",
    );
    const method = file("method.py", "def mask_mod(b, h, q_idx, kv_idx):\n    return (q_idx - kv_idx).abs() < 4\n");
    expect((await run(["problems", "new", "method", "--mask-mod", method, "--dir", tmp])).stderr).toContain("write torch.abs(x) instead of x.abs()");
    const tensor = file("tensor.py", "import torch\nbias = torch.randn(8)\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return score + bias[q_idx]\n");
    expect((await run(["problems", "new", "tensor", "--score-mod", tensor, "--dir", tmp])).stderr).toContain("only captured generator tensors can be indexed");
    const power = file("power.py", "def score_mod(score, b, h, q_idx, kv_idx):\n    return score ** 0.5\n");
    expect((await run(["problems", "new", "power", "--score-mod", power, "--dir", tmp])).stderr).toContain(`${power}:2: ** is supported only with a literal exponent 1..4`);
    const bad = await run(["problems", "new", "Bad-Name", "--score-mod", arity, "--dir", tmp]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('problem name "Bad-Name"');
  });

  it("refuses to overwrite an existing problem", async () => {
    const src = file("plain.py", "def mask_mod(b, h, q_idx, kv_idx):\n    return q_idx >= kv_idx\n");
    const r = await run(["problems", "new", "softcap", "--mask-mod", src]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("already exists");
  });
});
