/**
 * `VerifyResult`: what the verifier says about one candidate. A tagged union parsed with zod from
 * the Python harness's JSON. Kernel failures are data (a variant), never exceptions.
 */
import { z } from "zod";
import { errorHeadline } from "./error-headline.ts";

const Shape = z.object({ B: z.number(), H: z.number(), Hkv: z.number(), S: z.number(), D: z.number() });

/** Where the worst error of a failed check sits, so the model can reason about it. */
export const WorstError = z.object({
  index: z.array(z.number()), // [b, h, q, d]
  got: z.number().nullable(), // null when not finite
  expected: z.number(),
  note: z.string().optional(), // e.g. "error concentrated in the last 37 query rows"
});

/** One correctness check: one shape, one seed. */
export const ShapeCheck = z.object({
  shape: Shape,
  seed: z.number(),
  passed: z.boolean(),
  maxError: z.number().nullable(), // max|out - golden|, null when non-finite
  allowance: z.number(), // 2 * max|lowprec - golden| + atol
  worst: WorstError.optional(),
  /** KernelBench problems: the input distribution and inputs of this check (`shape` then counts output elements in S). */
  case: z.string().optional(),
  /** KernelBench problems: which rule held, KernelBench's allclose and kforge's error budget. */
  rules: z.object({ kernelbench: z.boolean(), kforge: z.boolean() }).optional(),
});
export type ShapeCheck = z.infer<typeof ShapeCheck>;

/** Median timings of one benchmark shape: the candidate and each baseline, in the same process or cached. */
export const ShapeTiming = z.object({
  shape: Shape,
  ms: z.number(), // candidate median
  tflops: z.number(), // over unmasked work only
  baselines: z.record(z.string(), z.object({ ms: z.number(), tflops: z.number() })), // flex, sdpa_flash, sdpa_cudnn
  speedup: z.record(z.string(), z.number()), // baseline ms / candidate ms
  runs: z.number().int(),
  spread: z.number().optional(), // (p90 - p10) / median of the candidate's runs
  case: z.string().optional(), // KernelBench problems: what was timed
  /** Baselines that could not be timed here, with the reason (e.g. torch.compile missing from this PyTorch). */
  unavailable: z.record(z.string(), z.string()).optional(),
});
export type ShapeTiming = z.infer<typeof ShapeTiming>;

/** Time spent in each phase, to keep verification fast (and to measure it). */
export const Phases = z.object({
  startMs: z.number().optional(), // waiting for / starting the worker process
  staticMs: z.number().optional(),
  importMs: z.number().optional(), // importing the candidate module
  compileMs: z.number().optional(), // first call (Triton JIT compile)
  correctnessMs: z.number().optional(),
  timingMs: z.number().optional(),
  totalMs: z.number(),
});

const Common = {
  phases: Phases,
  gpu: z.string().optional(),
  log: z.string().optional(), // captured stdout/stderr of the candidate, truncated
  /** Verified by a remote worker (kforge worker, through the queue): which one, on which host, at which job attempt. */
  worker: z.object({ id: z.string(), host: z.string(), attempt: z.number().int().positive() }).optional(),
};

export const VerifyResult = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("ok"),
    checks: z.array(ShapeCheck),
    timings: z.array(ShapeTiming),
    /** Geometric mean over benchmark shapes of the speedup against the problem's primary baseline. */
    speedup: z.number().nullable(),
    /** Geometric mean TFLOP/s over benchmark shapes (null when timing was skipped). */
    tflops: z.number().nullable(),
    ...Common,
  }),
  z.object({
    status: z.literal("compile_error"),
    message: z.string(),
    line: z.number().optional(),
    ...Common,
  }),
  z.object({
    status: z.literal("runtime_error"),
    message: z.string(),
    shape: Shape.optional(),
    /** e.g. "illegal memory access", "process died with signal SIGSEGV". */
    kind: z.string().optional(),
    ...Common,
  }),
  z.object({
    status: z.literal("wrong_output"),
    message: z.string(),
    checks: z.array(ShapeCheck),
    ...Common,
  }),
  z.object({
    status: z.literal("timeout"),
    phase: z.enum(["start", "import", "compile", "correctness", "timing", "total"]),
    limitS: z.number(),
    ...Common,
  }),
  z.object({
    status: z.literal("rejected"),
    /** A named anti-cheat rule, e.g. "static.torch_compute", "dynamic.side_stream", "timing.beyond_peak". */
    rule: z.string(),
    message: z.string(),
    line: z.number().optional(),
    ...Common,
  }),
]);
export type VerifyResult = z.infer<typeof VerifyResult>;
export type VerifyStatus = VerifyResult["status"];

/** A one-line summary of a result, for logs, trees and prompts. */
export function summarizeResult(r: VerifyResult): string {
  switch (r.status) {
    case "ok":
      return r.speedup === null ? "correct (not timed)" : `correct, ${r.speedup.toFixed(2)}x, ${r.tflops?.toFixed(0)} TFLOP/s`;
    case "compile_error":
      return `compile error: ${errorHeadline(r.message)}`;
    case "runtime_error":
      return `runtime error${r.kind ? ` (${r.kind})` : ""}: ${firstLine(r.message)}`;
    case "wrong_output":
      return `wrong output: ${firstLine(r.message)}`;
    case "timeout":
      return `timeout in ${r.phase} after ${r.limitS}s`;
    case "rejected":
      return `rejected by ${r.rule}: ${firstLine(r.message)}`;
  }
}

function firstLine(s: string): string {
  const l = s.split("\n").find((x) => x.trim() !== "") ?? s;
  return l.length > 160 ? `${l.slice(0, 157)}...` : l;
}
