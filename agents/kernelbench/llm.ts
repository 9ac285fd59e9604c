/** The LLM planner, coder and critic for a KernelBench problem: attention's nodes with this kind's prompts and contract. */
import { extractJson, extractPythonCode } from "../parse.ts";
import { render } from "../render.ts";
import { callModel, type LlmDeps } from "../call.ts";
import { describeExemplars, describeNode } from "../feedback.ts";
import type { ChatMessage } from "../model-types.ts";
import type { AgentCallContext, CodeInput, CodeOutcome, CritiqueInput, PlanInput, PlanOutcome } from "../types.ts";
import { Plan } from "../planner/schema.ts";
import { fallbackPlan } from "../planner/node.ts";
import { MAX_REPLY_REPAIRS } from "../coder/node.ts";
import { CriticReply, type Critique } from "../critic/schema.ts";
import { ruleCritique } from "../critic/rules.ts";
import { PROMPT_KERNEL_CHARS } from "../../core/limits.ts";
import { kernelBenchContract } from "../../problems/kernelbench/prompt.ts";
import type { LoadedKernelBenchProblem } from "../../problems/schema.ts";
import { kernelBenchProblemText } from "./problem-text.ts";
import { ModelNewSource } from "./schema.ts";
import { KB_CODER_RETRY, KB_CODER_SYSTEM, KB_CODER_USER, KB_CRITIC_SYSTEM, KB_CRITIC_USER, KB_PLANNER_SYSTEM, KB_PLANNER_USER } from "./prompt.ts";

/** Ideas for the children of `input.parent`. */
export async function runKbPlanner(p: LoadedKernelBenchProblem, input: PlanInput, ctx: AgentCallContext, deps: LlmDeps): Promise<PlanOutcome> {
  const system = render(KB_PLANNER_SYSTEM, { gpu: deps.gpu, count: input.count, contract: kernelBenchContract(p.spec) });
  const user = render(KB_PLANNER_USER, {
    problem: kernelBenchProblemText(p, deps.gpu),
    mode: input.mode,
    best: input.best?.row.speedup != null ? `${input.best.row.speedup.toFixed(3)}x (node ${input.best.row.label})` : "none correct yet",
    ancestry: input.ancestry.length
      ? input.ancestry.map((n) => `${n.label} ${n.title ? `"${n.title}" ` : ""}[${n.summary || n.status}]`).join(" → ")
      : "(this is the root)",
    parent:
      input.parent.row.status === "root"
        ? "(the root: no candidate yet; propose different first candidates)"
        : describeNode(input.parent, { kernel: true }),
    tried: input.tried.length ? input.tried.map((n) => `- ${n.label} "${n.title}": ${n.summary || n.status}`).join("\n") : "(none)",
    bestNode:
      input.best && input.best.row.id !== input.parent.row.id
        ? describeNode(input.best, { kernel: true, maxKernel: PROMPT_KERNEL_CHARS })
        : "(the node above, or none yet)",
    exemplars: describeExemplars(input.exemplars),
    count: input.count,
  });
  const call = await callModel(
    deps,
    "planner",
    [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    ctx,
  );
  if (!call.ok) return kbFallback(input, `planner call failed: ${call.error}`);
  const parsed = extractJson(call.res.content, Plan);
  if (!parsed.ok) return kbFallback(input, `planner reply unusable: ${parsed.reason}`);
  return { ideas: parsed.value.ideas.slice(0, input.count), rationale: parsed.value.rationale };
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
  let reason = "";
  for (let turn = 0; turn <= MAX_REPLY_REPAIRS; turn++) {
    const call = await callModel(deps, "coder", messages, ctx);
    if (!call.ok) return { status: "failed", reason: `coder call failed (${call.blame}): ${call.error}` };
    const extracted = extractPythonCode(call.res.content, { mustDefine: ["ModelNew"] });
    if (extracted.ok) {
      const checked = ModelNewSource.safeParse(extracted.value);
      if (checked.success) return { status: "ok", source: checked.data, origin: "llm", notes: extracted.notes };
      reason = checked.error.issues.map((i) => i.message).join("; ");
    } else reason = extracted.reason;
    if (call.res.finishReason === "length") reason += " (the reply was cut at the token limit: write a shorter module)";
    messages.push({ role: "assistant", content: call.res.content }, { role: "user", content: render(KB_CODER_RETRY, { reason }) });
  }
  return { status: "no_kernel", reason };
}

/** Critiques keyed by node id (candidates the reply misses get a rule-based one). */
export async function runKbCritic(
  p: LoadedKernelBenchProblem,
  input: CritiqueInput,
  ctx: AgentCallContext,
  deps: LlmDeps,
): Promise<Map<string, Critique>> {
  const out = new Map<string, Critique>();
  const system = render(KB_CRITIC_SYSTEM, { gpu: deps.gpu, contract: kernelBenchContract(p.spec) });
  const user = render(KB_CRITIC_USER, {
    problem: kernelBenchProblemText(p, deps.gpu),
    best: input.bestSpeedup === null ? "none correct yet" : `${input.bestSpeedup.toFixed(3)}x`,
    parent:
      input.parent.row.status === "root"
        ? "(the root: these are first attempts)"
        : describeNode(input.parent, { kernel: true, maxKernel: PROMPT_KERNEL_CHARS }),
    candidates: input.candidates.map((c) => describeNode(c.view, { kernel: true, maxKernel: PROMPT_KERNEL_CHARS })).join("\n\n"),
    labels: input.candidates.map((c) => c.view.row.label).join(", "),
  });
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
