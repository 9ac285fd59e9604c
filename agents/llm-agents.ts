/** The `Agents` backed by a model: each role's node with its client from agents/model.ts. */
import type { LlmDeps } from "./call.ts";
import type { Agents } from "./types.ts";
import { runPlanner } from "./planner/node.ts";
import { runCoder } from "./coder/node.ts";
import { runCritic } from "./critic/node.ts";
import { runProfilerAgent } from "./profiler/node.ts";

/** Planner, coder, critic and profiler agents over the given model clients. */
export function createLlmAgents(deps: LlmDeps): Agents {
  return {
    kind: "llm",
    plan: (input, ctx) => runPlanner(input, ctx, deps),
    code: (input, ctx) => runCoder(input, ctx, deps),
    critique: (input, ctx) => runCritic(input, ctx, deps),
    analyzeProfile: (input, ctx) => runProfilerAgent(input, ctx, deps),
  };
}
