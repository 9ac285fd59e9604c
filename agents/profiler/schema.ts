/** The profiler agent's output: concrete bottlenecks, each with its evidence, a suggested change and the gain expected. */
import { z } from "zod";

/** How much fixing a bottleneck should help; models write it in any case, so it is normalised. */
export const ExpectedGain = z.preprocess((v) => (typeof v === "string" ? v.trim().toLowerCase() : v), z.enum(["high", "medium", "low"]));

export const Bottleneck = z.object({
  issue: z.string().min(1),
  evidence: z.string().default(""),
  suggestion: z.string().min(1),
  /** Optional so older traces and terse replies still parse; an unknown word is dropped, not fatal. */
  expectedGain: ExpectedGain.optional().catch(undefined),
  /** Numbers the evidence quotes that the profile does not contain (set by grounding.ts, never by the model). */
  unverified: z.array(z.string()).optional(),
});
export type Bottleneck = z.infer<typeof Bottleneck>;

export const Bottlenecks = z.object({
  summary: z.string().default(""),
  bottlenecks: z.array(Bottleneck).max(8).default([]),
  /** "model" when the profiler agent wrote it, "rules" when tools/profiler/advise.ts did (offline or as the fallback). */
  source: z.enum(["model", "rules"]).optional(),
});
export type Bottlenecks = z.infer<typeof Bottlenecks>;
