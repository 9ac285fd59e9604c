/** The profiler as the search sees it: a candidate in, a `ProfileOutcome` out (never an exception for a kernel's fault). */
import { z } from "zod";
import type { LoadedProblem } from "../../problems/schema.ts";

export const Bound = z.enum(["memory", "compute", "latency", "underutilised"]);
export type Bound = z.infer<typeof Bound>;

/** What Nsight Compute (and Triton's compile metadata) say about one representative launch. */
export const ProfileSummary = z.object({
  kernel: z.string(),
  shape: z.object({ B: z.number(), H: z.number(), Hkv: z.number(), S: z.number(), D: z.number() }),
  durationUs: z.number().nullable(),
  /** Named metrics, normalised units (percent 0-100, counts, bytes). */
  metrics: z.record(z.string(), z.number()),
  /** Warp stall reasons, in percent of samples / cycles, largest first. */
  stalls: z.array(z.object({ reason: z.string(), pct: z.number() })),
  compile: z
    .object({
      registers: z.number().nullable(),
      spills: z.number().nullable(),
      sharedBytes: z.number().nullable(),
      numWarps: z.number().nullable(),
      numStages: z.number().nullable(),
    })
    .optional(),
  bound: Bound,
  /** Evidence for the bound, in words with numbers, e.g. "tensor pipe 38% of peak while DRAM 12%". */
  evidence: z.array(z.string()),
  /** Other launches ncu saw inside the profiled call (the summary describes the longest one). */
  otherKernels: z.array(z.object({ name: z.string(), durationUs: z.number().nullable() })).optional(),
});
export type ProfileSummary = z.infer<typeof ProfileSummary>;

export type ProfileOutcome =
  | { status: "ok"; summary: ProfileSummary; costMs: number }
  | { status: "unavailable"; reason: string; costMs: number } // no ncu, ERR_NVGPUCTRPERM, no GPU
  | { status: "failed"; reason: string; costMs: number }; // the kernel faulted under ncu, parse failure

export interface ProfileRequest {
  problem: LoadedProblem;
  source: string;
  candidateId?: string;
  signal?: AbortSignal;
}

export interface Profiler {
  profile(req: ProfileRequest): Promise<ProfileOutcome>;
}
