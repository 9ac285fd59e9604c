/** The verifier as the rest of kforge sees it: give it a problem and a kernel source, get a `VerifyResult`. */
import type { LoadedProblem } from "../../problems/schema.ts";
import type { VerifyResult } from "./result.ts";

/** Baseline timings of one problem's benchmark shapes, measured once per run and reused. */
export interface BaselineTimings {
  problem: string;
  gpu: string;
  /** Keyed by shape label "BxHxHkvxSxD", then by baseline name (flex, sdpa_flash, sdpa_cudnn). */
  shapes: Record<string, Record<string, { ms: number; tflops: number }>>;
  measuredAt: string;
}

export interface VerifyRequest {
  problem: LoadedProblem;
  /** The candidate module's Python source (hostile: it only ever runs inside the sandboxed harness). */
  source: string;
  /** For logs and temp-dir names. */
  candidateId?: string;
  /** Time the benchmark shapes (default true); false checks correctness only. */
  timing?: boolean;
  /** Cached baseline timings for this run; when absent the harness times the baselines in-process. */
  baseline?: BaselineTimings;
  signal?: AbortSignal;
}

/** Anything that can verify candidates: the local worker pool, a remote GPU host, or a test double. */
export interface Verifier {
  verify(req: VerifyRequest): Promise<VerifyResult>;
  /** Measures the problem's baselines once (compiled FlexAttention, SDPA backends where they apply). */
  measureBaseline?(problem: LoadedProblem, signal?: AbortSignal): Promise<BaselineTimings>;
  close(): Promise<void>;
}
