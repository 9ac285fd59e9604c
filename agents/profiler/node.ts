/** The LLM profiler agent: a profile summary and the kernel in, concrete bottlenecks out (null when the reply is unusable). */
import { extractJson } from "../parse.ts";
import { render } from "../render.ts";
import { callModel, type LlmDeps } from "../call.ts";
import { clip, describeProfile } from "../feedback.ts";
import { summarizeResult } from "../../tools/verifier/result.ts";
import type { AgentCallContext, ProfileAnalysisInput } from "../types.ts";
import { PROFILER_SYSTEM, PROFILER_USER } from "./prompt.ts";
import { Bottlenecks } from "./schema.ts";

/** Names the bottlenecks of a profiled kernel. */
export async function runProfilerAgent(input: ProfileAnalysisInput, ctx: AgentCallContext, deps: LlmDeps): Promise<Bottlenecks | null> {
  const user = render(PROFILER_USER, {
    problemName: input.problem.spec.name,
    verdict: input.node.verification ? summarizeResult(input.node.verification) : input.node.row.status,
    kernel: clip(input.node.kernel ?? "", 24000).trimEnd(),
    profile: describeProfile(input.summary),
  });
  const call = await callModel(deps, "profiler", [{ role: "system", content: render(PROFILER_SYSTEM, { gpu: deps.gpu }) }, { role: "user", content: user }], ctx);
  if (!call.ok) return null;
  const parsed = extractJson(call.res.content, Bottlenecks);
  return parsed.ok ? parsed.value : null;
}
