/** The LLM planner, coder and critic for a KernelBench problem: attention's calls with this kind's prompts and contract. */
import { render } from "../render.ts";
import type { LlmDeps } from "../call.ts";
import { describeExemplars, describeNode } from "../feedback.ts";
import type { ChatMessage } from "../model-types.ts";
import type { AgentCallContext, CodeInput, CodeOutcome, CritiqueInput, Idea, PlanInput, PlanOutcome } from "../types.ts";
import { fallbackFrom, planFromModel, planProgress } from "../planner/node.ts";
import { onCpuLane } from "../../problems/device-text.ts";
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
  return planFromModel(system, user, input, ctx, deps, (i, why) => kbFallback(p, i, why));
}

/**
 * A KernelBench problem's fallback ideas on a GPU. The module is any PyTorch module (matmuls, convolutions,
 * reductions, activations, norms, ...), not attention: one fused kernel first, then ideas that fit any of them
 * (never masked blocks or softmax tricks, which mean something only where there is a mask or a softmax).
 */
const KB_GPU_FALLBACK: { fresh: Idea; tuning: Idea[] } = {
  fresh: {
    title: "One fused kernel for the whole forward",
    idea: "Write one Triton kernel that computes Model.forward's result in a single pass, masking the tails.",
  },
  tuning: [
    {
      title: "Fuse the epilogue into the producing kernel",
      idea:
        "Apply the elementwise steps that follow a matmul, convolution or reduction (bias, activation, scaling, residual " +
        "add, clamp) to its results in registers before the one store, instead of separate kernels that read and write the output again.",
    },
    {
      title: "Tile matmuls and convolutions for the tensor cores",
      idea:
        "Compute each matmul, and each convolution as an implicit GEMM, in BLOCK_M x BLOCK_N x BLOCK_K tiles loaded once " +
        "into shared memory and multiplied with tl.dot, with tile sizes suited to the shapes, keeping the reference's " +
        'precision (fp32 operands: input_precision="ieee" unless the tolerance allows TF32).',
    },
    {
      title: "Vectorised, coalesced memory access",
      idea:
        "Let each program load and store contiguous blocks along the innermost dimension (wide loads, not strided scalar ones) " +
        "and order the grid so neighbouring programs read neighbouring memory.",
    },
    {
      title: "One pass over memory",
      idea:
        "Avoid extra passes over memory: compute reductions and a norm's statistics (sum, mean, variance) in one read of " +
        "the data, keep intermediates in registers instead of temporary tensors, and drop copies such as .contiguous().",
    },
    {
      title: "Retune launch settings",
      idea: "Try other block sizes, num_warps and num_stages for the main kernel, suited to the benchmark shapes.",
    },
  ],
};

/**
 * A KernelBench problem's fallback ideas on the CPU lane, where PyTorch ops do the work (no Triton, no GPU): ideas for
 * any module (not only attention) that change how much work those ops do.
 */
const KB_CPU_FALLBACK: { fresh: Idea; tuning: Idea[] } = {
  fresh: {
    title: "One PyTorch forward with fewer passes",
    idea:
      "Write ModelNew.forward with PyTorch ops (allowed on the CPU lane) that computes Model.forward's result in as few " +
      "passes over the data as possible, without intermediate copies.",
  },
  tuning: [
    {
      title: "Fuse the elementwise steps",
      idea:
        "Combine consecutive elementwise operations into fewer torch calls (in place only on tensors the module " +
        "created itself, never on the inputs), so each value is read and written fewer times.",
    },
    { title: "Batch the loops", idea: "Replace Python loops over rows, channels or batches with one batched or broadcast torch operation." },
    {
      title: "Fewer dtype casts and copies",
      idea: "Keep the computation in the reference's dtype (never lower) and drop .clone(), .contiguous() and .to() copies that are not needed.",
    },
    {
      title: "A cheaper equivalent formula",
      idea: "Rewrite the computation in an algebraically equal form that does less work (e.g. torch.addmm for a matmul plus bias), keeping the reference's accuracy.",
    },
  ],
};

/** Fallback ideas for a KernelBench problem: only ideas that mean something on its device. */
export function kbFallback(p: LoadedKernelBenchProblem, input: PlanInput, why: string): PlanOutcome {
  return fallbackFrom(onCpuLane(p.spec) ? KB_CPU_FALLBACK : KB_GPU_FALLBACK, input, why);
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
