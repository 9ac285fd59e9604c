/** KernelBench problem files: loading in place, what is derived from them, bad files, listing a checkout, the CLI. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { operatorFamilies } from "../../problems/kernelbench/families.ts";
import { listKernelBench } from "../../problems/kernelbench/list.ts";
import { loadKernelBenchProblem, problemName } from "../../problems/kernelbench/load.ts";
import { ROOT } from "../verifier/helpers.ts";
import { kforge } from "../problems/helpers.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "kernelbench");

describe("loadKernelBenchProblem", () => {
  it("derives name, level, families, description and the ModelNew prompt from the file", () => {
    const p = loadKernelBenchProblem(`kernelbench:${join(FIXTURES, "level2", "12_Gemm_Bias_GELU.py")}`);
    expect(p.spec).toMatchObject({ kind: "kernelbench", name: "kb_l2_12_gemm_bias_gelu", level: 2, device: "cpu", seeds: 2 });
    expect(p.spec.families).toEqual(["matmul", "elementwise", "activation"]);
    expect(p.spec.description).toBe("KernelBench level 2 12_Gemm_Bias_GELU: A linear layer, an extra bias and GELU: gelu(x @ W^T + b + bias).");
    expect(p.spec.kbTolerance).toEqual({ atol: 1e-2, rtol: 1e-2 });
    expect(p.referenceSource).toContain("def get_init_inputs");
    expect(p.prompt).toContain("class ModelNew(torch.nn.Module)");
    expect(p.prompt).toContain("torch.allclose(out, Model(x), atol=0.01, rtol=0.01)");
  });

  it("says what a file lacks, and that a missing file is missing", () => {
    expect(() => loadKernelBenchProblem(join(FIXTURES, "level1", "7_Not_a_problem.py"))).toThrow(/needs `def get_init_inputs\(\)`/);
    expect(() => loadKernelBenchProblem("kernelbench:/nonexistent/level1/1_X.py")).toThrow(/no such KernelBench problem file/);
  });

  it("names problems stably and relates them by operator family", () => {
    expect(problemName("19_ReLU", 1)).toBe("kb_l1_19_relu");
    expect(problemName("1_Square_matrix_multiplication_", null)).toBe("kb_1_square_matrix_multiplication");
    expect(operatorFamilies("94_Mean_squared_error", "")).toEqual(["loss", "reduction"]);
    expect(operatorFamilies("54_conv_standard_3D", "self.conv = nn.Conv3d(a, b, k)")[0]).toBe("conv");
    expect(operatorFamilies("5_Whatever", "def forward(self, x):\n    return torch.softmax(x, dim=-1)")).toEqual(["softmax"]);
  });
});

describe("listing a checkout", () => {
  it("finds levelN folders at the root, under KernelBench/, or one level folder; keeps broken files as rows", () => {
    const all = listKernelBench(FIXTURES);
    expect(all.filter((e) => e.problem).map((e) => e.problem?.spec.name)).toEqual([
      "kb_l1_1_square_matmul",
      "kb_l1_19_relu",
      "kb_l1_23_row_softmax",
      "kb_l1_94_mean_squared_error",
      "kb_l2_12_gemm_bias_gelu",
    ]);
    expect(all.find((e) => e.error)?.error).toMatch(/7_Not_a_problem\.py: not a KernelBench problem file/);
    expect(listKernelBench(FIXTURES, 2)).toHaveLength(1);
    expect(listKernelBench(join(FIXTURES, "level2"))).toHaveLength(1);
    const repo = mkdtempSync(join(tmpdir(), "kb-repo-"));
    mkdirSync(join(repo, "KernelBench", "level3"), { recursive: true });
    writeFileSync(
      join(repo, "KernelBench", "level3", "2_Tiny.py"),
      "class Model(object):\n    pass\n\n\ndef get_inputs():\n    return []\n\n\ndef get_init_inputs():\n    return []\n",
    );
    expect(listKernelBench(repo).map((e) => e.problem?.spec.name)).toEqual(["kb_l3_2_tiny"]);
    expect(() => listKernelBench(repo, 1)).toThrow(/no level1 folder in /);
  });

  it("`kforge problems kernelbench PATH --level N` lists through the real CLI (text and JSON)", () => {
    const text = kforge(["problems", "kernelbench", FIXTURES, "--level", "1"]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^kb_l1_19_relu\s+\[activation\]\s+\S+19_ReLU\.py$/m);
    expect(text.stdout).toContain("4 problems, 1 file(s) skipped");
    const json = kforge(["problems", "kernelbench", FIXTURES, "--json"]);
    const rows = JSON.parse(json.stdout) as Array<{ name?: string; problem?: string }>;
    expect(rows.find((r) => r.name === "kb_l2_12_gemm_bias_gelu")?.problem).toBe(`kernelbench:${join(FIXTURES, "level2", "12_Gemm_Bias_GELU.py")}`);
    const bad = kforge(["problems", "kernelbench", join(FIXTURES, "candidates")]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/no levelN folders/);
  }, 60_000);
});
