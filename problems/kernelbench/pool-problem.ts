/** Hands a KernelBench problem to the verifier pool (tools/verifier/pool.ts). */
import type { LoadedKernelBenchProblem, LoadedProblem } from "../schema.ts";

/**
 * The pool reads only a problem's name, device, spec (sent as the job's `problem`), reference path and source, all of
 * which a KernelBench problem has; its types still name the attention LoadedProblem, so the hand-over is this one
 * cast until the pool's owner widens them (the harness dispatches on `spec.kind`).
 */
export function asPoolProblem(p: LoadedKernelBenchProblem): LoadedProblem {
  return p as unknown as LoadedProblem;
}
