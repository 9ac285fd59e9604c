/** The `Agents` backed by a model: each role's node with its client from agents/model.ts. */
import type { LlmDeps } from "./call.ts";
import type { Agents } from "./types.ts";
import { runPlanner } from "./planner/node.ts";
import { runCoder } from "./coder/node.ts";
import { runCritic } from "./critic/node.ts";
import { runProfilerAgent } from "./profiler/node.ts";
import { runKbCoder, runKbCritic, runKbPlanner } from "./kernelbench/llm.ts";
import { kernelBenchOf } from "../problems/kernelbench/kind.ts";

/** Planner, coder, critic and profiler agents over the given model clients (a KernelBench problem gets its kind's prompts). */
export function createLlmAgents(deps: LlmDeps): Agents {
  return {
    kind: "llm",
    plan: (input, ctx) => {
      const kb = kernelBenchOf(input.problem);
      return kb ? runKbPlanner(kb, input, ctx, deps) : runPlanner(input, ctx, deps);
    },
    code: (input, ctx) => {
      const kb = kernelBenchOf(input.problem);
      return kb ? runKbCoder(kb, input, ctx, deps) : runCoder(input, ctx, deps);
    },
    critique: (input, ctx) => {
      const kb = kernelBenchOf(input.problem);
      return kb ? runKbCritic(kb, input, ctx, deps) : runCritic(input, ctx, deps);
    },
    analyzeProfile: (input, ctx) => runProfilerAgent(input, ctx, deps),
  };
}
