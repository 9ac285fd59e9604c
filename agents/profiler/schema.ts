/** The profiler agent's output: concrete bottlenecks, each with its evidence and a suggested change. */
import { z } from "zod";

export const Bottleneck = z.object({
  issue: z.string().min(1),
  evidence: z.string().default(""),
  suggestion: z.string().min(1),
});

export const Bottlenecks = z.object({
  summary: z.string().default(""),
  bottlenecks: z.array(Bottleneck).max(8).default([]),
});
export type Bottlenecks = z.infer<typeof Bottlenecks>;
