/** The LLM planner, coder and critic for a KernelBench problem: attention's calls with this kind's prompts and contract. */
import { render } from "../render.ts";
import type { LlmDeps } from "../call.ts";
import { describeExemplars, describeNode } from "../feedback.ts";
import type { ChatMessage } from "../model-types.ts";
import type { AgentCallContext, CodeInput, CodeOutcome, CritiqueInput, PlanInput, PlanOutcome } from "../types.ts";
import { fallbackPlan, planFromModel, planProgress } from "../planner/node.ts";
import { codeFromModel } from "../coder/node.ts";
import { critiqueFromModel, critiqueProgress } from "../critic/node.ts";
import type { Critique } from "../critic/schema.ts";
import { kernelBenchContract } from "../../problems/kernelbench/prompt.ts";
import type { LoadedKernelBenchProblem } from "../../problems/schema.ts";
import { kernelBenchProblemText } from "./problem-text.ts";
import { ModelNewSource } from "./schema.ts";
import { KB_CODER_RETRY, KB_CODER_SYSTEM, KB_CODER_USER, KB_CRITIC_SYSTEM, KB_CRITIC_USER, KB_PLANNER_SYSTEM, KB_PLANNER_USER } from "./prompt.ts";

/** Ideas for the children of `input.parent`. */
export async function runKbPlanner(p: LoadedKernelBenchProblem, input: PlanInput, ctx: AgentCallContext, deps: LlmDeps): Promise<PlanOutcome> {
  const system = render(KB_PLANNER_SYSTEM, { gpu: deps.gpu, count: input.count, contract: kernelBenchContract(p.spec) });
  const user = render(KB_PLANNER_USER, {
    ...planProgress(input, "(the root: no candidate yet; propose different first candidates)"),
    problem: kernelBenchProblemText(p, deps.gpu),
  });
  return planFromModel(system, user, input, ctx, deps, kbFallback);
}

function kbFallback(input: PlanInput, why: string): PlanOutcome {
  const fresh = {
    title: "One fused kernel for the whole forward",
    idea: "Write one Triton kernel that computes Model.forward's result in a single pass, masking the tails.",
  };
  const out = fallbackPlan(input, why);
  return input.mode === "fresh" ? { ...out, ideas: [fresh, ...out.ideas.slice(1)] } : out;
}

/** The ModelNew module for `input.idea`; an unusable reply gets one repair turn, then becomes `no_kernel`. */
export async function runKbCoder(p: LoadedKernelBenchProblem, input: CodeInput, ctx: AgentCallContext, deps: LlmDeps): Promise<CodeOutcome> {
  const messages: ChatMessage[] = [
    { role: "system", content: render(KB_CODER_SYSTEM, { gpu: deps.gpu, contract: kernelBenchContract(p.spec) }) },
    {
      role: "user",
      content: render(KB_CODER_USER, {
        problem: kernelBenchProblemText(p, deps.gpu),
        mode: input.mode,
        parent: input.parent.row.status === "root" ? "(none: write a new module from scratch)" : describeNode(input.parent, { kernel: true }),
        ideaTitle: input.idea.title,
        ideaText: input.idea.idea,
        exemplars: describeExemplars(input.exemplars),
      }),
    },
  ];
  return codeFromModel(
    messages,
    { mustDefine: "ModelNew", schema: ModelNewSource, retry: (reason) => render(KB_CODER_RETRY, { reason }) },
    ctx,
    deps,
  );
}

/** Critiques keyed by node id (candidates the reply misses get a rule-based one). */
export async function runKbCritic(
  p: LoadedKernelBenchProblem,
  input: CritiqueInput,
  ctx: AgentCallContext,
  deps: LlmDeps,
): Promise<Map<string, Critique>> {
  const system = render(KB_CRITIC_SYSTEM, { gpu: deps.gpu, contract: kernelBenchContract(p.spec) });
  const user = render(KB_CRITIC_USER, { ...critiqueProgress(input), problem: kernelBenchProblemText(p, deps.gpu) });
  return critiqueFromModel(system, user, input, ctx, deps);
}
