import { describe, expect, it } from "vitest";
import { keyMetrics, normaliseValue, parseCsvRows, parseNcuCsv, stallShares, summariseProfile } from "../../tools/profiler/parse.ts";
import { ProfileSummary } from "../../tools/profiler/types.ts";
import { ToolError } from "../../core/errors.ts";
import { fixtureDriver, fixtureSummary, fixtureText } from "./helpers.ts";

describe("ncu CSV parsing on recorded H100 output", () => {
  it("reads the raw page (base units) of the good softcap kernel into a valid summary", () => {
    const s = fixtureSummary("good");
    expect(ProfileSummary.parse(s)).toEqual(s);
    expect(s.kernel).toBe("_attn_fwd");
    expect(s.durationUs).toBeCloseTo(1780, 0);
    expect(s.metrics["registersPerThread"]).toBe(186);
    expect(s.metrics["gridSize"]).toBe(2048); // "2,048" in the CSV
    expect(s.metrics["sharedDynamicBytes"]).toBe(131072);
    expect(s.metrics["smThroughputPct"]).toBeCloseTo(48.82, 2);
    expect(s.metrics["tensorPipePct"]).toBeCloseTo(33.11, 2);
    expect(s.metrics["gmmaInst"]).toBeGreaterThan(0);
    expect(s.metrics["localSpillBytes"]).toBe(0);
    expect(s.compile).toEqual({ registers: 186, spills: 0, sharedBytes: 131072, numWarps: 8, numStages: 3 });
  });

  it("gives the same numbers from auto-scaled units (usecond, Kbyte/block) as from base units", () => {
    for (const tag of ["good", "spill", "tiny", "smallgrid", "d64"]) {
      const base = fixtureSummary(tag, "raw");
      const auto = fixtureSummary(tag, "raw_auto");
      for (const k of ["durationNs", "registersPerThread", "sharedDynamicBytes", "dramReadBytes", "smThroughputPct", "localSpillBytes"]) {
        const b = base.metrics[k] as number;
        expect(auto.metrics[k], `${tag} ${k}`).toBeCloseTo(b, b > 1e3 ? -Math.floor(Math.log10(b)) + 3 : 1);
      }
      expect(auto.bound).toBe(base.bound);
    }
  });

  it("reads the details page (one row per metric) of the same run", () => {
    const kernels = parseNcuCsv(fixtureText("good.details.csv"));
    expect(kernels).toHaveLength(1);
    const m = keyMetrics(kernels[0]!.metrics);
    const raw = fixtureSummary("good").metrics;
    expect(m["durationNs"]).toBeCloseTo(raw["durationNs"] as number, -3);
    expect(m["registersPerThread"]).toBe(186);
  });

  it("sees the spills of the deliberately spilling config in counters and compile metadata", () => {
    const s = fixtureSummary("spill");
    expect(s.metrics["localSpillBytes"]).toBeGreaterThan(1e8);
    expect(s.compile?.spills).toBe(18);
    expect(s.metrics["registersPerThread"]).toBe(255);
  });

  it("turns stall ratios into shares without 'selected', largest first", () => {
    const s = fixtureSummary("good");
    expect(s.stalls[0]).toEqual({ reason: "wait", pct: 23.5 });
    expect(s.stalls.map((x) => x.reason)).not.toContain("selected");
    expect(s.stalls.map((x) => x.reason)).toContain("gmma"); // Hopper's own stall reason
    const total = s.stalls.reduce((a, x) => a + x.pct, 0);
    expect(total).toBeGreaterThan(99);
    expect(total).toBeLessThan(101);
    for (let i = 1; i < s.stalls.length; i++) expect(s.stalls[i - 1]!.pct).toBeGreaterThanOrEqual(s.stalls[i]!.pct);
  });

  it("reads the run filtered by kernel name + launch-skip like the NVTX one", () => {
    expect(fixtureSummary("good_skip").durationUs).toBeCloseTo(fixtureSummary("good").durationUs as number, -2);
  });
});

describe("ncu CSV robustness", () => {
  const header =
    '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","gpu__time_duration.sum","launch__grid_size","sm__throughput.avg.pct_of_peak_sustained_elapsed","dram__throughput.avg.pct_of_peak_sustained_elapsed","launch__shared_mem_per_block_dynamic"';

  it("skips ==PROF== noise and program output, handles CRLF, n/a, thousands separators and quotes", () => {
    const csv = [
      "==PROF== Connected to process 1 (/usr/bin/python3)",
      "hello from the kernel, with a comma",
      header,
      '"","","","","","","","","","","","usecond","","%","%","Kbyte/block"',
      '"0","1","python3","h","small","1","7","(32, 1, 1)","(1, 1, 1)","0","9.0","3.50","1","n/a","(!) n/a","8.19"',
      '"1","1","python3","h","k ""quoted"", name","1","7","(256, 1, 1)","(2048, 1, 1)","0","9.0","1,780.25","2,048","48.8","4.4","131.07"',
      "==PROF== Disconnected from process 1",
    ].join("\r\n");
    const ks = parseNcuCsv(csv);
    expect(ks.map((k) => k.name)).toEqual(["small", 'k "quoted", name']);
    expect(ks[1]!.metrics["gpu__time_duration.sum"]).toBeCloseTo(1780250, 0);
    expect(ks[1]!.metrics["launch__grid_size"]).toBe(2048);
    expect(ks[1]!.metrics["launch__shared_mem_per_block_dynamic"]).toBeCloseTo(131070, 0);
    expect(ks[0]!.metrics["sm__throughput.avg.pct_of_peak_sustained_elapsed"]).toBeUndefined();
    // The summary describes the longest launch and lists the other one.
    const s = summariseProfile(csv, { shape: { B: 1, H: 1, Hkv: 1, S: 64, D: 64 } });
    expect(s.kernel).toBe('k "quoted", name');
    expect(s.otherKernels).toEqual([{ name: "small", durationUs: 3.5 }]);
  });

  it("splits quoted fields with commas and doubled quotes", () => {
    expect(parseCsvRows('"a,b","c""d",e\n"x"')).toEqual([["a,b", 'c"d', "e"], ["x"]]);
  });

  it("normalises values by unit and rejects non-numbers", () => {
    expect(normaliseValue("1.5", "msecond")).toBe(1.5e6);
    expect(normaliseValue("2", "us")).toBe(2000);
    expect(normaliseValue("65.54", "Kbyte/block")).toBeCloseTo(65540);
    expect(normaliseValue("1,234,567", "inst")).toBe(1234567);
    expect(normaliseValue("1.2e+03", "")).toBe(1200);
    expect(normaliseValue("n/a", "%")).toBeNull();
    expect(normaliseValue("(128, 1, 1)", "")).toBeNull();
    expect(normaliseValue("All", "")).toBeNull();
    expect(normaliseValue("1,5", "")).toBeNull(); // a decimal comma is not a thousands separator: refuse to guess
  });

  it("refuses text without an ncu header, and a CSV with no launch", () => {
    expect(() => parseNcuCsv("==PROF== No kernels were profiled.\n")).toThrow(ToolError);
    expect(() => summariseProfile(header + "\n", { shape: fixtureDriver("good").shape })).toThrow(/no kernel/);
  });

  it("falls back to pc-sampling counts when stall ratios are absent", () => {
    expect(
      stallShares({
        smsp__pcsamp_warps_issue_stalled_long_scoreboard: 30,
        smsp__pcsamp_warps_issue_stalled_wait: 10,
        smsp__pcsamp_warps_issue_stalled_selected: 50,
      }),
    ).toEqual([
      { reason: "long_scoreboard", pct: 75 },
      { reason: "wait", pct: 25 },
    ]);
  });
});
