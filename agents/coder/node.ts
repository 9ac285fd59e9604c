/** The LLM coder: one idea in, one candidate module out; a reply without a usable kernel gets one repair turn, then becomes a `no_kernel` outcome. */
import { extractPythonCode } from "../parse.ts";
import { render } from "../render.ts";
import { callModel, type LlmDeps } from "../call.ts";
import { candidateContract } from "../contract.ts";
import { attentionKernels } from "../../problems/device-text.ts";
import { describeExemplars, describeNode } from "../feedback.ts";
import type { ChatMessage } from "../model-types.ts";
import type { AgentCallContext, CodeInput, CodeOutcome } from "../types.ts";
import { CODER_RETRY, CODER_SYSTEM, CODER_USER } from "./prompt.ts";
import { KernelSource } from "./schema.ts";
import type { z } from "zod";
import { describeInputs } from "../../problems/inputs-text.ts";

/** How many times an unusable reply is sent back with the reason before the node is recorded as `no_kernel`. */
export const MAX_REPLY_REPAIRS = 1;

/** Writes the candidate module for `input.idea`. */
export async function runCoder(input: CodeInput, ctx: AgentCallContext, deps: LlmDeps): Promise<CodeOutcome> {
  const { problem } = input;
  const messages: ChatMessage[] = [
    {
      role: "system",
      content: render(CODER_SYSTEM, { gpu: deps.gpu, kernels: attentionKernels(problem.spec), contract: candidateContract(problem) }),
    },
    {
      role: "user",
      content: render(CODER_USER, {
        problemName: problem.spec.name,
        problemPrompt: problem.prompt.trim(),
        inputs: describeInputs(problem),
        reference: problem.referenceSource.trim(),
        mode: input.mode,
        parent: input.parent.row.status === "root" ? "(none: write a new kernel from scratch)" : describeNode(input.parent, { kernel: true }),
        ideaTitle: input.idea.title,
        ideaText: input.idea.idea,
        exemplars: describeExemplars(input.exemplars),
      }),
    },
  ];
  return codeFromModel(messages, { mustDefine: "attention", schema: KernelSource, retry: (reason) => render(CODER_RETRY, { reason }) }, ctx, deps);
}

/** What a coder reply must yield for a problem kind: the name it defines, the source's schema, the repair turn's text. */
export interface CoderReplyRules {
  mustDefine: string;
  schema: z.ZodType<string>;
  retry: (reason: string) => string;
}

/** The coder's calls from rendered prompts: the module, or `no_kernel` after MAX_REPLY_REPAIRS repair turns. */
export async function codeFromModel(messages: ChatMessage[], rules: CoderReplyRules, ctx: AgentCallContext, deps: LlmDeps): Promise<CodeOutcome> {
  let reason = "";
  for (let turn = 0; turn <= MAX_REPLY_REPAIRS; turn++) {
    const call = await callModel(deps, "coder", messages, ctx);
    if (!call.ok) return { status: "failed", reason: `coder call failed (${call.blame}): ${call.error}` };
    const extracted = extractPythonCode(call.res.content, { mustDefine: [rules.mustDefine] });
    if (extracted.ok) {
      const checked = rules.schema.safeParse(extracted.value);
      if (checked.success) return { status: "ok", source: checked.data, origin: "llm", notes: extracted.notes };
      reason = checked.error.issues.map((i) => i.message).join("; ");
    } else reason = extracted.reason;
    if (call.res.finishReason === "length") reason += " (the reply was cut at the token limit: write a shorter module)";
    messages.push({ role: "assistant", content: call.res.content }, { role: "user", content: rules.retry(reason) });
  }
  return { status: "no_kernel", reason };
}
