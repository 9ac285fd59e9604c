/** The planner's output: one idea per branch. */
import { z } from "zod";

/** One idea for a child kernel: a short title for trees and a concrete description for the coder. */
export const Idea = z.object({
  title: z
    .string()
    .min(1)
    .transform((s) => (s.length > 100 ? `${s.slice(0, 97)}...` : s)),
  idea: z.string().min(1).max(4000),
});
export type Idea = z.infer<typeof Idea>;

/** The planner's reply, as a JSON object. */
export const Plan = z.object({
  rationale: z.string().default(""),
  ideas: z.array(Idea).min(1).max(16),
});
export type Plan = z.infer<typeof Plan>;
