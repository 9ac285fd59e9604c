/** The suite's problem.json files against the contract, and malformed problems failing with file + field. */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProblemError } from "../../core/errors.ts";
import { loadAllProblems, loadProblem, problemsDir } from "../../problems/load.ts";

const BENCH = [
  { B: 4, H: 16, S: 4096, D: 128 },
  { B: 2, H: 32, S: 8192, D: 64 },
];

describe("the problem suite", () => {
  const problems = loadAllProblems();

  it("loads twelve valid problems, each with reference factories and a prompt", () => {
    expect(problems).toHaveLength(12);
    for (const p of problems) {
      expect(p.referenceSource).toMatch(/^def make_score_mod\(/m);
      expect(p.referenceSource).toMatch(/^def make_mask_mod\(/m);
      expect(p.referenceSource).not.toMatch(/flex_eval|^from |^import (?!torch$)/m); // self-contained
      expect(p.prompt).toContain("def attention(q, k, v, *, scale: float");
      for (const param of Object.keys(p.spec.params)) expect(p.prompt).toContain(`\`${param}\``);
    }
  });

  it("uses bf16, the two benchmark shapes, and SDPA as baseline only for full and causal", () => {
    for (const p of problems) {
      expect(p.spec.dtype).toBe("bf16");
      const bench = p.spec.shapes.benchmark.map(({ Hkv: _kv, ...s }) => s);
      expect(bench, p.spec.name).toEqual(BENCH);
      expect(p.spec.baseline).toBe(["full", "causal"].includes(p.spec.name) ? "sdpa" : "flex");
    }
  });

  it("checks odd sequence lengths, S = 1 and both head dims (natten: multiples of its grid width)", () => {
    for (const p of problems) {
      const seqs = p.spec.shapes.correctness.map((s) => s.S);
      const dims = new Set(p.spec.shapes.correctness.map((s) => s.D));
      expect([...dims].sort(), p.spec.name).toEqual([128, 64]);
      const gridW = p.spec.params["grid_w"];
      if (typeof gridW === "number") {
        for (const s of [...seqs, ...p.spec.shapes.benchmark.map((b) => b.S)]) expect(s % gridW).toBe(0);
      } else {
        expect(seqs, p.spec.name).toEqual(expect.arrayContaining([1, 17, 77, 257]));
      }
    }
  });

  it("gqa uses Hkv = H/4 everywhere; other problems have no Hkv", () => {
    for (const p of problems) {
      for (const s of [...p.spec.shapes.correctness, ...p.spec.shapes.benchmark]) {
        expect(s.Hkv, p.spec.name).toBe(p.spec.name === "gqa" ? s.H / 4 : undefined);
      }
    }
  });

  it("long-range masks are exercised: some correctness shape is longer than the window/prefix", () => {
    for (const name of ["sliding_window", "prefix_lm"]) {
      const p = loadProblem(name);
      const reach = Number(p.spec.params["window"] ?? p.spec.params["prefix"]);
      expect(Math.max(...p.spec.shapes.correctness.map((s) => s.S))).toBeGreaterThan(reach);
    }
  });
});

describe("malformed problems", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "kforge-problems-"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A copy of the softcap problem under tmp/<name>, with problem.json rewritten by `edit`. */
  function broken(name: string, edit: (spec: Record<string, unknown>) => void): string {
    const dir = join(tmp, name);
    cpSync(join(problemsDir(), "softcap"), dir, { recursive: true });
    const spec = JSON.parse(readFileSync(join(dir, "problem.json"), "utf8")) as Record<string, unknown>;
    spec["name"] = name;
    edit(spec);
    writeFileSync(join(dir, "problem.json"), JSON.stringify(spec));
    return dir;
  }

  function loadError(dir: string): ProblemError {
    try {
      loadProblem(dir);
    } catch (err) {
      if (err instanceof ProblemError) return err;
      throw err;
    }
    throw new Error(`${dir} loaded without error`);
  }

  it("a missing field names the file and the field", () => {
    const err = loadError(broken("no_baseline", (s) => delete s["baseline"]));
    expect(err.message).toContain(join(tmp, "no_baseline", "problem.json"));
    expect(err.message).toMatch(/^\s+baseline: /m);
  });

  it("a bad shape names the shape's path and what was expected", () => {
    const err = loadError(broken("bad_shape", (s) => ((s["shapes"] as { correctness: { D: number }[] }).correctness[1]!.D = 65)));
    expect(err.message).toContain("shapes.correctness.1.D: D must be one of 16, 32, 64, 128, 256");
  });

  it("Hkv that does not divide H is rejected", () => {
    const err = loadError(broken("bad_gqa", (s) => (s["shapes"] as { benchmark: unknown[] }).benchmark.push({ B: 1, H: 6, Hkv: 4, S: 8, D: 64 })));
    expect(err.message).toContain("shapes.benchmark.2: Hkv must divide H");
  });

  it("an unknown param generator is rejected", () => {
    const err = loadError(broken("bad_param", (s) => (s["params"] = { cap: "thirty" })));
    expect(err.message).toMatch(/params\.cap: /);
  });

  it("a name that differs from the folder is rejected", () => {
    const dir = broken("renamed", () => {});
    renameSync(dir, join(tmp, "other_name"));
    expect(loadError(join(tmp, "other_name")).message).toContain('name "renamed" does not match its folder "other_name"');
  });

  it("a missing reference.py or invalid JSON names the file", () => {
    const dir = broken("no_ref", () => {});
    rmSync(join(dir, "reference.py"));
    expect(loadError(dir).message).toContain(join(dir, "reference.py"));
    const bad = broken("bad_json", () => {});
    writeFileSync(join(bad, "problem.json"), "{ not json");
    expect(loadError(bad).message).toContain(`${join(bad, "problem.json")}: not valid JSON`);
  });

  it("an unknown problem name lists the known ones", () => {
    const err = loadError("no_such_problem");
    expect(err.message).toContain("no_such_problem");
    expect(err.hint).toContain("softcap");
  });
});
