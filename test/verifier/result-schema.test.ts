/** Harness JSON -> VerifyResult, and what a dead, hung or broken harness process becomes. */
import { describe, expect, it } from "vitest";
import { ToolError } from "../../core/errors.ts";
import { toVerifyResult } from "../../tools/verifier/outcome.ts";
import { VerifyResult, summarizeResult } from "../../tools/verifier/result.ts";

const shape = { B: 1, H: 2, Hkv: 2, S: 17, D: 16 };
const phases = { staticMs: 1, importMs: 2, compileMs: 30, correctnessMs: 40, timingMs: 300, totalMs: 373 };
const t = { startMs: 5, totalMs: 400 };

describe("VerifyResult from the harness", () => {
  it("parses an ok result with timings and keeps the harness phases", () => {
    const harness = {
      status: "ok",
      checks: [{ shape, seed: 3, passed: true, maxError: 0.002, allowance: 0.015 }],
      timings: [
        { shape, ms: 0.5, tflops: 1.5, baselines: { flex: { ms: 1, tflops: 0.75 } }, speedup: { flex: 2, primary: 2 }, runs: 50, spread: 0.1 },
      ],
      speedup: 2,
      tflops: 1.5,
      phases,
      gpu: "NVIDIA H100 80GB HBM3",
      unknownExtra: "ignored",
    };
    const r = toVerifyResult({ kind: "result", result: harness, log: "candidate said hi\n" }, t);
    expect(r.status).toBe("ok");
    expect(r.phases).toMatchObject({ compileMs: 30, startMs: 5, totalMs: 400 });
    expect(r.log).toContain("candidate said hi");
    expect(summarizeResult(r)).toBe("correct, 2.00x, 2 TFLOP/s");
  });

  it("parses wrong_output with the worst error and a null for non-finite values", () => {
    const r = VerifyResult.parse({
      status: "wrong_output",
      message: "1 of 2 checks failed",
      checks: [
        {
          shape,
          seed: 1,
          passed: false,
          maxError: 2.1,
          allowance: 0.01,
          worst: { index: [0, 1, 16, 3], got: null, expected: 0.5, note: "errors only in the last 1 query rows" },
        },
      ],
      phases,
    });
    expect(r.status === "wrong_output" && r.checks[0]?.worst?.index).toEqual([0, 1, 16, 3]);
  });

  it("rejects a malformed result as our fault (ToolError), not the kernel's", () => {
    expect(() => toVerifyResult({ kind: "result", result: { status: "ok", checks: "nope" }, log: "" }, t)).toThrow(ToolError);
    expect(() => toVerifyResult({ kind: "harness_error", message: "KeyError", log: "" }, t)).toThrow(ToolError);
  });

  it("maps a killed phase to a timeout and a dead process to a runtime error", () => {
    const to = toVerifyResult({ kind: "timeout", phase: "compile", limitS: 20, elapsedMs: 20_001, log: "" }, t);
    expect(to).toMatchObject({ status: "timeout", phase: "compile", limitS: 20 });
    expect(toVerifyResult({ kind: "timeout", phase: "static", limitS: 5, elapsedMs: 5000, log: "" }, t)).toMatchObject({ phase: "total" });
    const died = toVerifyResult({ kind: "died", phase: "correctness", code: null, signal: "SIGSEGV", log: "Segmentation fault" }, t, "cpu");
    expect(died).toMatchObject({ status: "runtime_error", kind: "process died with signal SIGSEGV", gpu: "cpu" });
    expect(died.status === "runtime_error" && died.message).toContain("Segmentation fault");
  });

  it("surfaces an abort as an AbortError", () => {
    expect(() => toVerifyResult({ kind: "aborted" }, t)).toThrow(/aborted/);
  });
});
