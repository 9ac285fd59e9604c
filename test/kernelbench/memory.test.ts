/** KernelBench wins in the memory: remembered by operator family, seeding new problems of related families only. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { extractFeatures } from "../../memory/features.ts";
import { retrieveWins } from "../../memory/retrieve.ts";
import { familyTags, queryFromProblem } from "../../memory/seed.ts";
import { WinsStore } from "../../memory/wins.ts";
import { asSearchProblem } from "../../problems/kernelbench/kind.ts";
import { loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import { ROOT } from "../verifier/helpers.ts";

const LEVELS = join(ROOT, "test", "fixtures", "kernelbench");
const problem = (rel: string) => asSearchProblem(loadKernelBenchProblem(join(LEVELS, rel)));

function memoryWith(): WinsStore {
  const wins = new WinsStore(openDatabase(":memory:")).setup();
  const gemm = problem("level2/12_Gemm_Bias_GELU.py");
  const q = queryFromProblem(gemm);
  wins.remember({
    problem: gemm.spec.name,
    description: gemm.spec.description,
    tags: familyTags(["matmul", "elementwise", "activation"]),
    kernelSource: "class ModelNew: pass  # gemm",
    speedup: 1.4,
    gpu: "NVIDIA H200",
  });
  expect(q.tags).toEqual(["op_matmul", "op_elementwise", "op_activation"]);
  // An attention win with a description full of words the operator families also use.
  wins.remember({
    problem: "softcap",
    description: "softcap attention with a bias and a 2D mask",
    tags: ["softcap"],
    kernelSource: "def attention(): pass",
    speedup: 2.5,
    gpu: "NVIDIA H200",
  });
  return wins;
}

describe("KernelBench wins in memory", () => {
  it("derive features from the families alone (attention words in the description mean nothing here), related families implied", () => {
    const f = extractFeatures({ description: "Conv 2D with a bias and a mask", tags: familyTags(["conv", "elementwise"]) });
    expect(f.features).toEqual(["op_conv", "op_matmul", "op_elementwise"]);
    expect(extractFeatures(queryFromProblem(problem("level1/23_Row_softmax.py"))).features).toEqual(["op_softmax", "op_reduction"]);
  });

  it("seed ReLU from the GEMM+GELU win (activation, elementwise shared), never from attention; softmax shares nothing with either", () => {
    const wins = memoryWith();
    const relu = retrieveWins(wins, queryFromProblem(problem("level1/19_ReLU.py")), { k: 3 });
    expect(relu.results.map((r) => r.win.problem)).toEqual(["kb_l2_12_gemm_bias_gelu"]);
    expect(relu.results[0]?.score.matched).toEqual(["op_activation", "op_elementwise"]);
    expect(retrieveWins(wins, queryFromProblem(problem("level1/23_Row_softmax.py")), { k: 3 }).results).toEqual([]);
    const attention = retrieveWins(
      wins,
      { problem: "softcap_window", description: "softcap with a window", tags: ["softcap", "windowed"] },
      { k: 3 },
    );
    expect(attention.results.map((r) => r.win.problem)).toEqual(["softcap"]);
  });

  it("rejects a tag that is neither an attention tag nor an operator family", () => {
    const wins = new WinsStore(openDatabase(":memory:")).setup();
    expect(() => wins.remember({ problem: "kb_x", tags: ["op_quantum" as never], kernelSource: "x", speedup: 1.1, gpu: "g" })).toThrow(
      /operator family/,
    );
  });
});
