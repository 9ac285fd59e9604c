import { describe, expect, it } from "vitest";
import { groundBottlenecks, unverifiedNumbers } from "../../agents/profiler/grounding.ts";
import { adviseFromProfile } from "../../tools/profiler/advise.ts";
import { describeBottlenecks } from "../../agents/feedback.ts";
import { fixtureSummary } from "./helpers.ts";

describe("grounding the profiler agent's evidence in the profile", () => {
  const s = fixtureSummary("fixture_full128"); // good_full.py at 4x16x4096x128 on the H100

  it("numbers read off the profile pass, rounded as a reader would", () => {
    expect(s.metrics["tensorPipePct"]).toBeGreaterThan(53);
    expect(unverifiedNumbers("tensor pipe 54% of peak, stalls barrier 27%, wait 25%; 186 registers, 160 KiB shared", s)).toEqual([]);
    expect(unverifiedNumbers("grid of 2048 blocks on 132 SMs, 4096 keys at D=128", s)).toEqual([]);
  });

  it("numbers that appear nowhere are listed, with their unit", () => {
    expect(unverifiedNumbers("tensor pipe 91% of peak, 37 spills, 12.5 MB of local traffic", s)).toEqual(["91%", "37", "12.5MB"]);
  });

  it("identifiers, small counts and numbers from the kernel itself are not checked", () => {
    expect(unverifiedNumbers("sm_90 exp2 on bf16, 2 blocks per SM, num_stages 3", s)).toEqual([]);
    expect(unverifiedNumbers("BLOCK_N 96 in the kernel", s, "BLOCK_N = 96\n")).toEqual([]);
  });

  it("the rule-based advisor's own evidence is always grounded", () => {
    for (const tag of ["fixture_full128", "fixture_softcap64", "fixture_causal64", "good", "spill", "tiny", "smallgrid", "d64"]) {
      const summary = fixtureSummary(tag);
      for (const a of adviseFromProfile(summary)) expect(unverifiedNumbers(a.evidence, summary), `${tag}: ${a.evidence}`).toEqual([]);
    }
  });

  it("prompts show the flag next to the evidence", () => {
    const b = groundBottlenecks(
      { summary: "latency-bound", bottlenecks: [{ issue: "x", evidence: "tensor pipe 91%", suggestion: "y" }], source: "model" },
      s,
    );
    expect(b.bottlenecks[0]!.unverified).toEqual(["91%"]);
    expect(describeBottlenecks(b)).toContain("(tensor pipe 91%) [not in the profile: 91%] → y");
  });
});
