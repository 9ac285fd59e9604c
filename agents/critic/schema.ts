/** The critic's output: a verdict per candidate, what is wrong, and what to try next. */
import { z } from "zod";

export const Verdict = z.enum(["new_best", "promising", "fixable", "dead_end"]);
export type Verdict = z.infer<typeof Verdict>;

/** The critique of one candidate: the prompt material of the next expansion. */
export const Critique = z.object({
  verdict: Verdict,
  issues: z.array(z.string()).default([]),
  nextIdeas: z.array(z.string()).default([]),
  /** What made it fast (for the memory of wins). */
  keyIdeas: z.array(z.string()).default([]),
  /** "model" or "rules" (the fallback when the critic's reply was unusable). */
  source: z.enum(["model", "rules"]).default("model"),
});
export type Critique = z.infer<typeof Critique>;

/** The critic's reply: one entry per candidate, keyed by the candidate's label (e.g. "3.2"). */
export const CriticReply = z.object({
  critiques: z.array(Critique.omit({ source: true }).extend({ node: z.string() })).min(1),
});
export type CriticReply = z.infer<typeof CriticReply>;
