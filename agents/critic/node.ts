/** The LLM critic: one call judges a batch of siblings; candidates it does not cover get a rule-based critique. */
import { extractJson } from "../parse.ts";
import { render } from "../render.ts";
import { callModel, type LlmDeps } from "../call.ts";
import { candidateContract } from "../contract.ts";
import { attentionKernels } from "../../problems/device-text.ts";
import { describeNode } from "../feedback.ts";
import type { AgentCallContext, CritiqueInput } from "../types.ts";
import { CRITIC_SYSTEM, CRITIC_USER } from "./prompt.ts";
import { CriticReply, type Critique } from "./schema.ts";
import { ruleCritique } from "./rules.ts";
import { PROMPT_KERNEL_CHARS } from "../../core/limits.ts";

/** Critiques keyed by node id (every candidate gets one). */
export async function runCritic(input: CritiqueInput, ctx: AgentCallContext, deps: LlmDeps): Promise<Map<string, Critique>> {
  const { problem } = input;
  const system = render(CRITIC_SYSTEM, { gpu: deps.gpu, kernels: attentionKernels(problem.spec), contract: candidateContract(problem) });
  const user = render(CRITIC_USER, { ...critiqueProgress(input), problemName: problem.spec.name, problemPrompt: problem.prompt.trim() });
  return critiqueFromModel(system, user, input, ctx, deps);
}

/** The critic's view of the batch, for every problem kind's user prompt. */
export function critiqueProgress(input: CritiqueInput) {
  return {
    best: input.bestSpeedup === null ? "none correct yet" : `${input.bestSpeedup.toFixed(3)}x`,
    parent:
      input.parent.row.status === "root"
        ? "(the root: these are first attempts)"
        : describeNode(input.parent, { kernel: true, maxKernel: PROMPT_KERNEL_CHARS }),
    candidates: input.candidates.map((c) => describeNode(c.view, { kernel: true, maxKernel: PROMPT_KERNEL_CHARS })).join("\n\n"),
    labels: input.candidates.map((c) => c.view.row.label).join(", "),
  };
}

/** One critic call with rendered prompts; candidates the reply misses (or all, when it fails) get a rule-based critique. */
export async function critiqueFromModel(
  system: string,
  user: string,
  input: CritiqueInput,
  ctx: AgentCallContext,
  deps: LlmDeps,
): Promise<Map<string, Critique>> {
  const out = new Map<string, Critique>();
  const call = await callModel(
    deps,
    "critic",
    [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    ctx,
  );
  if (call.ok) {
    const parsed = extractJson(call.res.content, CriticReply);
    if (parsed.ok) {
      const byLabel = new Map(input.candidates.map((c) => [c.view.row.label, c.view.row.id]));
      for (const c of parsed.value.critiques) {
        const id = byLabel.get(c.node.replace(/^node\s*/i, "").trim());
        if (id) out.set(id, { verdict: c.verdict, issues: c.issues, nextIdeas: c.nextIdeas, keyIdeas: c.keyIdeas, source: "model" });
      }
    }
  }
  for (const c of input.candidates) if (!out.has(c.view.row.id)) out.set(c.view.row.id, ruleCritique(c.view, input.bestSpeedup));
  return out;
}
