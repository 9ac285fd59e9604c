/** Bottlenecks from the deterministic advisor: the offline profiler agent, and the fallback when the model's reply is unusable. */
import { adviseFromProfile } from "../../tools/profiler/advise.ts";
import type { ProfileSummary } from "../../tools/profiler/types.ts";
import type { ProfileAnalysisInput } from "../types.ts";
import type { Bottlenecks } from "./schema.ts";

/** The advisor's findings as the profiler agent's output (source "rules"). */
export function ruleBottlenecks(summary: ProfileSummary, note?: string): Bottlenecks {
  return {
    summary: `${summary.bound}-bound: ${summary.evidence[0] ?? "no evidence"}${note ? ` (${note})` : ""}`,
    bottlenecks: adviseFromProfile(summary).map(({ issue, evidence, suggestion, expectedGain }) => ({ issue, evidence, suggestion, expectedGain })),
    source: "rules",
  };
}

/** The advisor's findings as prompt lines, for the model to confirm, refine or overrule. */
export function describeRuleFindings(summary: ProfileSummary): string {
  const advice = adviseFromProfile(summary);
  if (!advice.length) return "(no rule fired)";
  return advice.map((a) => `- [${a.expectedGain}] ${a.issue} (${a.evidence}) → ${a.suggestion}`).join("\n");
}

/** The offline profiler agent (no model): `analyzeProfile` of the offline `Agents`. */
export async function analyzeProfileOffline(input: ProfileAnalysisInput): Promise<Bottlenecks> {
  return ruleBottlenecks(input.summary);
}
