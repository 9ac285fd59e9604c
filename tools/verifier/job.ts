/**
 * The job a harness process receives on stdin, as a zod schema: the TypeScript side builds it through this type,
 * and the Python side (kforge_harness/protocol.py parse_job) validates the same fields, refusing unknown ones.
 */
import { z } from "zod";
import type { BaselineTimings } from "./types.ts";

export const HarnessJob = z
  .object({
    mode: z.enum(["verify", "baseline", "reference_check", "static", "inspect_variant"]),
    device: z.enum(["cuda", "cpu"]),
    /** The problem spec (problem.json, normalised by the harness). */
    problem: z.record(z.string(), z.unknown()),
    reference_path: z.string(),
    source: z.string().optional(),
    timing: z.boolean().optional(),
    /** Cached baseline timings of this run (BaselineTimings), or null to time them in-process. */
    baseline: z
      .custom<BaselineTimings>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "baseline timings are an object")
      .nullable()
      .optional(),
    static_checks: z.boolean().optional(),
    seed: z.number().int().nonnegative(),
    timing_budget_s: z.number().positive().optional(),
    /** Labels for logs only (candidate id); never read by checks. */
    extra: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type HarnessJob = z.infer<typeof HarnessJob>;
