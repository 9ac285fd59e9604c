/** The LLM planner: the node to expand and its feedback in, `count` distinct ideas out (generic ideas when the reply is unusable). */
import { extractJson } from "../parse.ts";
import { render } from "../render.ts";
import { callModel, type LlmDeps } from "../call.ts";
import { candidateContract } from "../contract.ts";
import { attentionKernels, onCpuLane } from "../../problems/device-text.ts";
import { describeExemplars, describeNode } from "../feedback.ts";
import type { AgentCallContext, Idea, PlanInput, PlanOutcome } from "../types.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { defBlocks } from "../../memory/python-tokens.ts";
import { PLANNER_EXAMPLES, PLANNER_SYSTEM, PLANNER_USER } from "./prompt.ts";
import { Plan } from "./schema.ts";
import { describeInputs } from "../../problems/inputs-text.ts";
import { PROMPT_KERNEL_CHARS } from "../../core/limits.ts";

/** Proposes ideas for the children of `input.parent`. */
export async function runPlanner(input: PlanInput, ctx: AgentCallContext, deps: LlmDeps): Promise<PlanOutcome> {
  const { problem } = input;
  const system = render(PLANNER_SYSTEM, {
    gpu: deps.gpu,
    kernels: attentionKernels(problem.spec),
    examples: PLANNER_EXAMPLES[problem.spec.device],
    count: input.count,
    contract: candidateContract(problem),
  });
  const user = render(PLANNER_USER, {
    ...planProgress(input, "(the root: no kernel yet; propose different first kernels)"),
    problemName: problem.spec.name,
    problemPrompt: problem.prompt.trim(),
    inputs: describeInputs(problem),
    reference: problem.referenceSource.trim(),
  });
  return planFromModel(system, user, input, ctx, deps, fallbackPlan);
}

/** The planner's view of where the search stands, for every problem kind's user prompt (`rootParent`: the root's text). */
export function planProgress(input: PlanInput, rootParent: string) {
  return {
    mode: input.mode,
    best: input.best?.row.speedup != null ? `${input.best.row.speedup.toFixed(3)}x (node ${input.best.row.label})` : "none correct yet",
    ancestry: input.ancestry.length
      ? input.ancestry.map((n) => `${n.label} ${n.title ? `"${n.title}" ` : ""}[${n.summary || n.status}]`).join(" → ")
      : "(this is the root)",
    parent: input.parent.row.status === "root" ? rootParent : describeNode(input.parent, { kernel: true }),
    tried: input.tried.length ? input.tried.map((n) => `- ${n.label} "${n.title}": ${n.summary || n.status}`).join("\n") : "(none)",
    bestNode:
      input.best && input.best.row.id !== input.parent.row.id
        ? describeNode(input.best, { kernel: true, maxKernel: PROMPT_KERNEL_CHARS })
        : "(the node above, or none yet)",
    exemplars: describeExemplars(input.exemplars),
    count: input.count,
  };
}

/** One planner call with rendered prompts: the model's ideas, or `fallback`'s when the call or its reply is unusable. */
export async function planFromModel(
  system: string,
  user: string,
  input: PlanInput,
  ctx: AgentCallContext,
  deps: LlmDeps,
  fallback: (input: PlanInput, why: string) => PlanOutcome,
): Promise<PlanOutcome> {
  const call = await callModel(
    deps,
    "planner",
    [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    ctx,
  );
  if (!call.ok) return fallback(input, `planner call failed: ${call.error}`);
  const parsed = extractJson(call.res.content, Plan);
  if (!parsed.ok) return fallback(input, `planner reply unusable: ${parsed.reason}`);
  return { ideas: parsed.value.ideas.slice(0, input.count), rationale: parsed.value.rationale };
}

/** The one idea of a repair when the planner is unusable (any device). */
export const REPAIR_IDEA: Idea = {
  title: "Fix the reported failure",
  idea: "Read the verifier's message and fix exactly what it reports, changing nothing else.",
};

/**
 * Fallback ideas for a GPU problem: a first Triton kernel, then its tiles, launch settings, softmax, and (only where
 * the problem masks keys: there is no masked work to skip otherwise) skipping masked blocks.
 */
function gpuFallback(masked: boolean): { fresh: Idea; tuning: Idea[] } {
  return {
    fresh: {
      title: "A straightforward tiled kernel",
      idea: "Write a FlashAttention-style tiled kernel with online softmax that passes every correctness shape.",
    },
    tuning: [
      { title: "Retune tile sizes", idea: "Try different BLOCK_M / BLOCK_N tile sizes suited to the benchmark shapes." },
      { title: "Retune warps and stages", idea: "Change num_warps and num_stages of the main kernel to improve latency hiding." },
      ...(masked ? [{ title: "Skip masked work", idea: "Skip key/value blocks that are fully masked and avoid masking work on full blocks." }] : []),
      { title: "Cheaper softmax", idea: "Use exp2 with log2(e) folded into the scale and keep the running max/sum in float32." },
    ],
  };
}

/**
 * Fallback ideas for a problem on the CPU lane (problems/device-text.ts): no Triton and no GPU there, PyTorch ops do
 * the work, so only what changes that work means anything (the planner's CPU examples, PLANNER_EXAMPLES.cpu); masked
 * blocks only where the problem masks keys.
 */
function cpuFallback(masked: boolean): { fresh: Idea; tuning: Idea[] } {
  return {
    fresh: {
      title: "Blocked attention with PyTorch ops",
      idea:
        "Compute attention with torch.matmul over blocks of keys and an online softmax (running max and sum in float32), " +
        "so memory stays bounded and every correctness shape passes.",
    },
    tuning: [
      {
        title: "Batch heads into one matmul",
        idea:
          "Compute every batch and head with one batched torch.matmul instead of Python loops over them, " +
          "mapping grouped key/value heads by reshaping rather than copying keys and values.",
      },
      ...(masked
        ? [{ title: "Skip masked work", idea: "Skip blocks of keys that are fully masked and apply the mask only to blocks that are partly masked." }]
        : []),
      {
        title: "Fewer temporaries",
        idea: masked
          ? "Apply the score modification and the mask in one pass over the scores (torch.where or masked_fill on the " +
            "kernel's own tensors, never the inputs) and drop intermediate tensors."
          : "Apply the score modification in one pass over the scores (in place on the kernel's own tensors, never the " +
            "inputs) and drop intermediate tensors.",
      },
      {
        title: "Fewer dtype casts and copies",
        idea: "Convert each input to float32 once, keep the matmul operands contiguous, and cast the result back to the input dtype only at the end.",
      },
    ],
  };
}

/**
 * Whether an attention problem masks keys (has a mask_mod): a variant's spec says so (variant.mask); a suite problem's
 * reference.py does: its make_mask_mod returns a mask (an inner function, a lambda, a name) rather than only None, or
 * it defines mask_mod itself. A reference with neither goes by the problem's "mask" tag.
 */
export function hasMask(problem: LoadedProblem): boolean {
  const variant = problem.spec.variant;
  if (variant) return variant.mask !== null;
  const blocks = defBlocks(problem.referenceSource);
  const factory = blocks.get("make_mask_mod");
  if (factory !== undefined) return [...factory.matchAll(/^\s*return\b(.*)$/gm)].some((m) => !/^(None)?\s*(#.*)?$/.test(m[1]!.trim()));
  if (blocks.has("mask_mod")) return true;
  return problem.spec.tags.includes("mask");
}

/** Generic ideas so the search goes on when the planner is unusable; the coder still sees all feedback. Only ideas that mean something on the problem's device, and for its mask (or none). */
export function fallbackPlan(input: PlanInput, why: string): PlanOutcome {
  const masked = hasMask(input.problem);
  return fallbackFrom(onCpuLane(input.problem.spec) ? cpuFallback(masked) : gpuFallback(masked), input, why);
}

/** The fallback outcome from a device's ideas: a repair's fix or a fresh start's first kernel, then the tuning ideas, `input.count` in all. */
export function fallbackFrom(ideasOf: { fresh: Idea; tuning: Idea[] }, input: PlanInput, why: string): PlanOutcome {
  const generic: Idea[] = input.mode === "repair" ? [REPAIR_IDEA] : input.mode === "fresh" ? [ideasOf.fresh] : [];
  const ideas = [...generic, ...ideasOf.tuning].slice(0, Math.max(1, input.count));
  return { ideas, rationale: "fallback ideas (the planner's reply was unusable)", fallback: why };
}
