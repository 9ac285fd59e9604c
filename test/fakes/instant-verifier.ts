/**
 * A real `Verifier` that answers instantly from a verdict line in the kernel source, for tests and
 * the orchestration benchmark (everything but GPU time):
 *   # verdict: ok 1.35          correct, 1.35x
 *   # verdict: wrong_output 3   wrong output, worst error 3x the allowance
 *   # verdict: compile_error | runtime_error | timeout | rejected
 * A kernel without a verdict line is correct at 1.0x.
 */
import type { LoadedProblem } from "../../problems/schema.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import type { BaselineTimings, Verifier, VerifyRequest } from "../../tools/verifier/types.ts";

const SHAPE = { B: 1, H: 2, Hkv: 2, S: 64, D: 16 };

/** The result a verdict line asks for. */
export function verdictOf(source: string): VerifyResult {
  const m = /^#\s*verdict:\s*(\w+)(?:\s+([\d.]+))?/m.exec(source);
  const status = m?.[1] ?? "ok";
  const x = m?.[2] !== undefined ? Number(m[2]) : 1;
  const phases = { totalMs: 1 };
  switch (status) {
    case "ok":
      return {
        status: "ok",
        checks: [{ shape: SHAPE, seed: 0, passed: true, maxError: 1e-3, allowance: 4e-3 }],
        timings: [{ shape: SHAPE, ms: 1 / x, tflops: 100 * x, baselines: { flex: { ms: 1, tflops: 100 } }, speedup: { flex: x }, runs: 10 }],
        speedup: x,
        tflops: 100 * x,
        phases,
      };
    case "wrong_output":
      return {
        status: "wrong_output",
        message: `max error ${x}x the allowance`,
        checks: [
          {
            shape: SHAPE,
            seed: 0,
            passed: false,
            maxError: 4e-3 * x,
            allowance: 4e-3,
            worst: { index: [0, 1, 63, 0], got: 0.5, expected: 0.25, note: "error in the last query rows" },
          },
        ],
        phases,
      };
    case "compile_error":
      return { status: "compile_error", message: "SyntaxError: invalid syntax", line: 3, phases };
    case "runtime_error":
      return { status: "runtime_error", message: "RuntimeError: index out of bounds", kind: "illegal memory access", shape: SHAPE, phases };
    case "timeout":
      return { status: "timeout", phase: "correctness", limitS: 30, phases };
    default:
      return { status: "rejected", rule: "static.torch_compute", message: "calls torch.softmax for the work", line: 5, phases };
  }
}

/** Verifies instantly; counts calls so tests can assert nothing was verified twice. */
export class InstantVerifier implements Verifier {
  readonly sources: string[] = [];

  async verify(req: VerifyRequest): Promise<VerifyResult> {
    if (req.signal?.aborted) throw req.signal.reason;
    this.sources.push(req.source);
    return verdictOf(req.source);
  }

  async measureBaseline(problem: LoadedProblem): Promise<BaselineTimings> {
    return { problem: problem.spec.name, gpu: "instant", shapes: {}, measuredAt: new Date(0).toISOString() };
  }

  async close(): Promise<void> {}
}
