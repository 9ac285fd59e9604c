import { describe, expect, it } from "vitest";
import { adviceAsBottlenecks, adviseFromProfile, MAX_ADVICE } from "../../tools/profiler/advise.ts";
import type { ProfileSummary } from "../../tools/profiler/types.ts";
import { fixtureSummary } from "./helpers.ts";

const rules = (s: ProfileSummary) => adviseFromProfile(s).map((a) => a.rule);

describe("rule-based advice on recorded H100 profiles", () => {
  it("spilling config: spills first (high), then the shared-memory occupancy cap", () => {
    const advice = adviseFromProfile(fixtureSummary("spill"));
    expect(advice[0]).toMatchObject({ rule: "spills", expectedGain: "high" });
    expect(advice[0]!.evidence).toMatch(/255 registers\/thread \(the maximum\), 18 spilled/);
    expect(advice[0]!.suggestion).toMatch(/num_warps=8 .*instead of 4/);
    expect(rules(fixtureSummary("spill"))).toContain("fewWarps");
  });

  it("one-warp tiles: wgmma is not used", () => {
    const advice = adviseFromProfile(fixtureSummary("tiny"));
    expect(advice[0]).toMatchObject({ rule: "notWgmma", expectedGain: "high" });
    expect(rules(fixtureSummary("tiny"))).toContain("l1Bound");
  });

  it("small grid: more programs", () => {
    expect(rules(fixtureSummary("smallgrid"))[0]).toBe("smallGrid");
  });

  it("good softcap kernel: the XU pipe (tanh + exp2) and idle tensor pipe, no spill or wgmma rule", () => {
    const r = rules(fixtureSummary("good"));
    expect(r).toContain("xuBound");
    expect(r).toContain("memoryLatency");
    expect(r).not.toContain("spills");
    expect(r).not.toContain("notWgmma");
    expect(adviseFromProfile(fixtureSummary("good")).find((a) => a.rule === "xuBound")!.suggestion).toMatch(/tanh\.approx\.f32/);
  });

  it("orders by expected gain and caps the list", () => {
    for (const tag of ["good", "spill", "tiny", "smallgrid", "d64"]) {
      const advice = adviseFromProfile(fixtureSummary(tag));
      expect(advice.length).toBeLessThanOrEqual(MAX_ADVICE);
      const rank = { high: 0, medium: 1, low: 2 };
      for (let i = 1; i < advice.length; i++) expect(rank[advice[i - 1]!.expectedGain]).toBeLessThanOrEqual(rank[advice[i]!.expectedGain]);
    }
  });

  it("DRAM-bound and near-peak summaries get their own rules", () => {
    const s = fixtureSummary("good");
    const dram = { ...s, metrics: { ...s.metrics, dramThroughputPct: 88, xuPipePct: 10, tensorPipePct: 20 }, stalls: [] };
    expect(rules(dram)[0]).toBe("dramBound");
    const peak = { ...s, metrics: { ...s.metrics, tensorPipePct: 80, xuPipePct: 30 }, stalls: [] };
    expect(rules(peak)).toEqual(["nearPeak"]);
  });

  it("comes in the profiler agent's output shape", () => {
    const b = adviceAsBottlenecks(fixtureSummary("spill"));
    expect(b.summary).toMatch(/^latency-bound: /);
    expect(b.bottlenecks[0]).toHaveProperty("issue");
    expect(b.bottlenecks[0]).toHaveProperty("suggestion");
  });
});

describe("advice on the verifier's fixture kernels (bench/results/profiler/h100-2026-11-24)", () => {
  const tags = ["fixture_full128", "fixture_softcap64", "fixture_causal64"];

  it("every latency-bound real profile gets at least one concrete change", () => {
    for (const tag of tags) {
      const s = fixtureSummary(tag);
      if (s.bound === "latency") expect(adviseFromProfile(s).length, tag).toBeGreaterThan(0);
    }
  });

  it("full attention at D=128: wait + barrier stalls name the missing softmax/wgmma overlap", () => {
    const s = fixtureSummary("fixture_full128");
    expect(s.bound).toBe("latency");
    const a = adviseFromProfile(s).find((x) => x.rule === "serialSoftmax")!;
    expect(a).toBeDefined();
    expect(a.evidence).toMatch(/stalls wait \d+(\.\d)?%, barrier \d+(\.\d)?%/);
    expect(a.evidence).toMatch(/num_warps=8, num_stages=4/);
    expect(a.suggestion).toMatch(/already has two warpgroups \(num_warps=8\)/);
    expect(a.suggestion).toMatch(/software pipelining/);
  });

  it("softcap at D=64: XU-bound, with the D=64 paragraph (and the measured polynomial result)", () => {
    const a = adviseFromProfile(fixtureSummary("fixture_softcap64"))[0]!;
    expect(a.rule).toBe("xuBound");
    expect(a.evidence).toMatch(/at head dim 64/);
    expect(a.suggestion).toMatch(/one MUFU op per score/);
    expect(a.suggestion).toMatch(/measured slower on the H100/);
    // at D=128 the D=64 paragraph is absent
    expect(adviseFromProfile(fixtureSummary("good")).find((x) => x.rule === "xuBound")!.suggestion).not.toMatch(/polynomial/);
  });
});
