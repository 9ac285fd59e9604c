import { describe, expect, it } from "vitest";
import { classifyBound, HIGH_SOL_PCT, occupancyLimiter } from "../../tools/profiler/classify.ts";
import { fixtureSummary } from "./helpers.ts";

describe("bound classification on recorded H100 profiles", () => {
  it("good softcap kernel: latency (neither unit at 60%), evidence with numbers", () => {
    const s = fixtureSummary("good");
    expect(s.bound).toBe("latency");
    expect(s.evidence[0]).toMatch(/neither compute \(49%\) nor memory \(28%\)/);
    expect(s.evidence.join("\n")).toMatch(/tensor pipe \(wgmma\) 33% of peak; XU \(exp\/tanh\) pipe 51%/);
    expect(s.evidence.join("\n")).toMatch(/limited by registers \(1 block\/SM\); 186 registers\/thread/);
  });

  it("16 blocks on 132 SMs: underutilised", () => {
    const s = fixtureSummary("smallgrid");
    expect(s.bound).toBe("underutilised");
    expect(s.evidence[0]).toMatch(/fills only 12% of one wave/);
  });

  it("D=64 at 61% SM throughput: compute", () => {
    const s = fixtureSummary("d64");
    expect(s.bound).toBe("compute");
    expect(s.evidence[0]).toMatch(/compute \(SM\) throughput 61%/);
  });

  it("one-warp 16x16 tiles: memory bound at L1/shared, not DRAM, and mma.sync", () => {
    const s = fixtureSummary("tiny");
    expect(s.bound).toBe("memory");
    expect(s.evidence[0]).toMatch(/L1\/shared 85%, L2 24%, DRAM 1.6%/);
    expect(s.evidence.join("\n")).toMatch(/tensor pipe \(mma\.sync\)/);
  });

  it("spilling config: evidence names the spill traffic", () => {
    expect(fixtureSummary("spill").evidence.join("\n")).toMatch(/register spills: 962 MB of local-memory traffic, 18 spilled registers/);
  });
});

describe("bound classification rules", () => {
  const base = { smThroughputPct: 20, memThroughputPct: 20, wavesPerSm: 8 };

  it("memory when the memory unit is the one at or above the threshold", () => {
    expect(classifyBound({ metrics: { ...base, memThroughputPct: 85, dramThroughputPct: 84 }, stalls: [] }).bound).toBe("memory");
    expect(classifyBound({ metrics: { ...base, memThroughputPct: HIGH_SOL_PCT - 0.1 }, stalls: [] }).bound).toBe("latency");
  });

  it("compute when the tensor pipe is busy even if SM throughput reads lower", () => {
    expect(classifyBound({ metrics: { ...base, tensorPipePct: 75 }, stalls: [] }).bound).toBe("compute");
  });

  it("a small grid wins over latency, but not over a saturated unit", () => {
    expect(classifyBound({ metrics: { ...base, wavesPerSm: 0.5 }, stalls: [] }).bound).toBe("underutilised");
    expect(classifyBound({ metrics: { ...base, wavesPerSm: 0.9, smThroughputPct: 70 }, stalls: [] }).bound).toBe("compute");
  });

  it("says so when speed-of-light metrics are missing", () => {
    const r = classifyBound({ metrics: {}, stalls: [] });
    expect(r.bound).toBe("latency");
    expect(r.evidence[0]).toMatch(/missing/);
  });

  it("names the smallest occupancy limit", () => {
    expect(occupancyLimiter({ occLimitRegisters: 2, occLimitSharedMem: 1, occLimitWarps: 16, occLimitBlocks: 32 })).toEqual({
      resource: "shared memory",
      blocks: 1,
    });
    expect(occupancyLimiter({})).toBeNull();
  });
});
