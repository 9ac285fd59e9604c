/**
 * The profiler agent: a profile summary and the kernel in, concrete bottlenecks out. When the model
 * call fails or its reply is unusable, the rule-based advisor answers instead, so a profiled node
 * always carries advice (marked source "rules", with the reason in the summary).
 */
import { extractJson } from "../parse.ts";
import { render } from "../render.ts";
import { callModel, type LlmDeps } from "../call.ts";
import { clip, describeProfile } from "../feedback.ts";
import { summarizeResult } from "../../tools/verifier/result.ts";
import type { AgentCallContext, ProfileAnalysisInput } from "../types.ts";
import { PROFILER_SYSTEM, PROFILER_USER } from "./prompt.ts";
import { describeRuleFindings, ruleBottlenecks } from "./rules.ts";
import { Bottlenecks } from "./schema.ts";
import { groundBottlenecks } from "./grounding.ts";

/** Names the bottlenecks of a profiled kernel with the model; falls back to the rule-based advisor. */
export async function runProfilerAgent(input: ProfileAnalysisInput, ctx: AgentCallContext, deps: LlmDeps): Promise<Bottlenecks> {
  const user = render(PROFILER_USER, {
    problemName: input.problem.spec.name,
    verdict: input.node.verification ? summarizeResult(input.node.verification) : input.node.row.status,
    kernel: clip(input.node.kernel ?? "", 24000).trimEnd(),
    profile: describeProfile(input.summary),
    rules: describeRuleFindings(input.summary),
  });
  const call = await callModel(
    deps,
    "profiler",
    [
      { role: "system", content: render(PROFILER_SYSTEM, { gpu: deps.gpu }) },
      { role: "user", content: user },
    ],
    ctx,
  );
  if (!call.ok) return ruleBottlenecks(input.summary, `profiler model unavailable: ${call.error.slice(0, 160)}`);
  const parsed = extractJson(call.res.content, Bottlenecks);
  if (!parsed.ok || parsed.value.bottlenecks.length === 0) {
    const reason = parsed.ok ? "the reply named no bottleneck" : parsed.kind;
    return ruleBottlenecks(input.summary, `profiler reply unusable (${reason}); rule-based advice`);
  }
  // The model may not set `unverified` itself: grounding decides it from the profile.
  const reply = { ...parsed.value, bottlenecks: parsed.value.bottlenecks.map(({ unverified: _u, ...x }) => x) };
  return groundBottlenecks({ ...reply, source: "model" }, input.summary, input.node.kernel ?? "");
}
