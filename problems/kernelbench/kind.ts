/**
 * Telling a KernelBench problem apart where the search carries it. The graph, the agents and the memory are typed
 * with attention's LoadedProblem; a KernelBench problem travels through them under one cast (as it does into the
 * verifier pool, pool-problem.ts), and every place that reads attention-only fields asks `kernelBenchOf` first.
 */
import type { LoadedKernelBenchProblem, LoadedProblem } from "../schema.ts";

/** The KernelBench problem behind `p`, or null for an attention problem. */
export function kernelBenchOf(p: { spec: { kind: string } } | LoadedProblem): LoadedKernelBenchProblem | null {
  return (p.spec as { kind: string }).kind === "kernelbench" ? (p as unknown as LoadedKernelBenchProblem) : null;
}

/** A KernelBench problem as the search's problem (the graph reads only name, description, device, dir and the
 * reference through the attention type; the kind-specific places use kernelBenchOf). */
export function asSearchProblem(p: LoadedKernelBenchProblem): LoadedProblem {
  return p as unknown as LoadedProblem;
}
