/** Feedback on a KernelBench candidate names each check's inputs and rules, not a made-up attention shape. */
import { describe, expect, it } from "vitest";
import { describeVerification } from "../../agents/feedback.ts";
import { VerifyResult } from "../../tools/verifier/result.ts";

const counted = { B: 1, H: 1, Hkv: 1, S: 8000, D: 1 }; // how a KernelBench check's shape counts output elements

describe("feedback for the kernelbench kind", () => {
  it("a wrong output names the case and which tolerance rule failed", () => {
    const r = VerifyResult.parse({
      status: "wrong_output",
      message: "1 of 2 checks failed",
      checks: [
        {
          shape: counted,
          seed: 0,
          passed: true,
          maxError: 1e-6,
          allowance: 1e-3,
          case: "normal(0,1): x[16, 500]",
          rules: { kernelbench: true, kforge: true },
        },
        {
          shape: counted,
          seed: 1,
          passed: false,
          maxError: 0.5,
          allowance: 1e-3,
          worst: { index: [3, 41], got: 0, expected: 0.5 },
          case: "outliers(|x|>=100): x[16, 500]",
          rules: { kernelbench: false, kforge: false },
        },
      ],
      phases: { totalMs: 10 },
    });
    const text = describeVerification(r);
    expect(text).toContain("FAIL outliers(|x|>=100): x[16, 500] seed 1");
    expect(text).toContain("worst at index[3,41]");
    expect(text).toContain("KernelBench allclose failed, kforge's error budget failed");
    expect(text).not.toMatch(/S=8000|\[b,h,q,d\]/);
  });

  it("timings name what was timed and the baselines that could not be timed", () => {
    const r = VerifyResult.parse({
      status: "ok",
      checks: [],
      timings: [
        {
          shape: counted,
          ms: 0.5,
          tflops: 0,
          baselines: { eager: { ms: 1, tflops: 0 } },
          speedup: { eager: 2 },
          runs: 20,
          case: "get_inputs(): x[16, 500]",
          unavailable: { compile: "torch.compile is not in this PyTorch (1.13)" },
        },
      ],
      speedup: 2,
      tflops: null,
      phases: { totalMs: 10 },
    });
    const text = describeVerification(r);
    expect(text).toContain("get_inputs(): x[16, 500]: 0.500 ms");
    expect(text).toContain("compile not timed: torch.compile is not in this PyTorch (1.13)");
    expect(text).not.toMatch(/S=8000/);
  });
});
