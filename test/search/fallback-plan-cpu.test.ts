/**
 * When the planner's reply is unusable, the fallback ideas fit the problem's device: a CPU-lane problem (no GPU, no
 * Triton; PyTorch ops do the work) never gets GPU-only knobs (num_warps, num_stages, BLOCK_M/BLOCK_N tiles, TMA, ...).
 * `kforge search` as a real child process against a scripted model whose planner only answers prose: the ideas the
 * coder is asked to implement and the titles `kforge trace` shows are the fallback's, for an attention problem and a
 * KernelBench problem on the CPU lane. The fallback functions themselves for every mode, on both devices.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kbFallback } from "../../agents/kernelbench/llm.ts";
import { fallbackPlan } from "../../agents/planner/node.ts";
import type { PlanInput } from "../../agents/types.ts";
import { loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import { loadProblem } from "../../problems/load.ts";
import type { LoadedKernelBenchProblem, LoadedProblem } from "../../problems/schema.ts";
import { startScriptedServer, type RecordedRequest, type ScriptedReply, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY, ROOT } from "../verifier/helpers.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { searchOnFallback } from "./fallback-search.ts";

/** Knobs and features that exist only for a GPU kernel (Triton launch settings, tiles, GPU memory and units). */
const GPU_ONLY =
  /num_warps|num_stages|\bwarps?\b|BLOCK_[MNK]|\btiles?\b|\btiled\b|\bTMA\b|Triton|shared memory|tensor cores?|\bSMs?\b|\bgrid\b|exp2|CUDA|GPU/i;

const RELU_FILE = join(ROOT, "test", "fixtures", "kernelbench", "level1", "19_ReLU.py");
const GOOD_RELU = readFileSync(join(ROOT, "test", "fixtures", "kernelbench", "candidates", "good_relu.py"), "utf8");

/** A model whose planner only answers prose (the fallback plan takes over); the coder writes a correct module. */
function proseModel(module: () => string) {
  return (req: RecordedRequest): ScriptedReply => {
    if (req.role === "planner") return { content: "I would try a few things, but I will not write JSON today." };
    if (req.role === "coder") return { content: `Here it is.\n\n\`\`\`python\n${module()}\`\`\`\n` };
    if (req.role === "critic") {
      const labels = /Judge every candidate \(([^)]*)\)/.exec(req.lastUser)?.[1]?.split(", ") ?? [];
      const critiques = labels.map((node) => ({ node, verdict: "promising", issues: [], nextIdeas: [], keyIdeas: [] }));
      return { content: `\`\`\`json\n${JSON.stringify({ critiques })}\n\`\`\`` };
    }
    return { content: "```json\n{}\n```" };
  };
}

describe("the planner's fallback plan on the CPU lane", () => {
  let server: ScriptedServer;
  let module: () => string = () => cpuKernel("good", "fallback");
  let dir: string;
  beforeAll(async () => {
    server = await startScriptedServer(proseModel(() => module()));
    dir = mkdtempSync(join(tmpdir(), "kforge-fallback-cpu-"));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an attention problem verified on the CPU: blocked PyTorch attention and CPU-side tuning, no GPU knobs", async () => {
    module = () => cpuKernel("good", "fallback");
    const { ideas, trace } = await searchOnFallback(server, CPU_TINY, join(dir, "attention"));
    for (const idea of ideas) expect(idea).not.toMatch(GPU_ONLY);
    expect(ideas[0]).toMatch(/^Blocked attention with PyTorch ops: .*torch\.matmul/);
    expect(ideas).toContainEqual(expect.stringMatching(/^Batch heads into one matmul: /));
    expect(trace).toContain("Blocked attention with PyTorch ops");
    expect(trace).not.toMatch(/Retune (tile sizes|warps and stages)|tiled kernel/);
  }, 300_000);

  it("a KernelBench problem verified on the CPU: PyTorch-op ideas for any module, no Triton kernel or GPU knobs", async () => {
    module = () => GOOD_RELU;
    const { ideas, trace } = await searchOnFallback(server, `kernelbench:${RELU_FILE}`, join(dir, "kb"));
    for (const idea of ideas) expect(idea).not.toMatch(GPU_ONLY);
    expect(ideas[0]).toMatch(/^One PyTorch forward with fewer passes: /);
    expect(trace).toContain("One PyTorch forward with fewer passes");
    expect(trace).not.toMatch(/One fused kernel|Retune/);
  }, 300_000);

  it("every mode on the CPU lane gets CPU ideas only; a GPU problem keeps its Triton tuning ideas", () => {
    const input = (problem: LoadedProblem | LoadedKernelBenchProblem, mode: PlanInput["mode"]) =>
      ({ problem, mode, count: 8 }) as unknown as PlanInput;
    const cpu = loadProblem(CPU_TINY);
    const gpu = loadProblem("softcap");
    const kbCpu = loadKernelBenchProblem(`kernelbench:${RELU_FILE}`);
    // The same module without its `# kforge: device=cpu` line is a GPU problem.
    const gpuFile = join(dir, "19_ReLU.py");
    copyFileSync(RELU_FILE, gpuFile);
    writeFileSync(gpuFile, readFileSync(gpuFile, "utf8").replace(/^# kforge: device=cpu\n/m, ""));
    const kbGpu = loadKernelBenchProblem(`kernelbench:${gpuFile}`);
    expect([cpu.spec.device, gpu.spec.device, kbCpu.spec.device, kbGpu.spec.device]).toEqual(["cpu", "cuda", "cpu", "cuda"]);

    const text = (ideas: { title: string; idea: string }[]) => ideas.map((i) => `${i.title}: ${i.idea}`).join("\n");
    for (const mode of ["fresh", "improve", "repair"] as const) {
      const onCpu = fallbackPlan(input(cpu, mode), "unusable");
      const kbOnCpu = kbFallback(kbCpu, input(kbCpu, mode), "unusable");
      for (const out of [onCpu, kbOnCpu]) {
        expect(out.fallback).toBe("unusable");
        expect(out.ideas.length).toBeGreaterThanOrEqual(4);
        expect(text(out.ideas)).not.toMatch(GPU_ONLY);
        if (mode === "repair") expect(out.ideas[0]!.title).toBe("Fix the reported failure");
      }
      expect(text(fallbackPlan(input(gpu, mode), "unusable").ideas)).toMatch(/num_warps and num_stages/);
      // A KernelBench module on a GPU: Triton tiles for any module, not attention's masked blocks or softmax.
      expect(text(kbFallback(kbGpu, input(kbGpu, mode), "unusable").ideas)).toMatch(/BLOCK_M x BLOCK_N x BLOCK_K/);
      expect(text(kbFallback(kbGpu, input(kbGpu, mode), "unusable").ideas)).not.toMatch(/masked|softmax/i);
    }
    expect(kbFallback(kbGpu, input(kbGpu, "fresh"), "unusable").ideas[0]!.title).toBe("One fused kernel for the whole forward");
    expect(fallbackPlan(input(cpu, "improve"), "unusable").ideas.map((i) => i.title)).toEqual([
      "Batch heads into one matmul",
      "Skip masked work",
      "Fewer temporaries",
      "Fewer dtype casts and copies",
    ]);
  });
});
