/** Sizing the pipeline: a fixed --inflight is kept; auto follows Little's law within its bounds; bad flags say what to write. */
import { describe, expect, it } from "vitest";
import { inflightTarget, MAX_AUTO_INFLIGHT, MAX_AUTO_INFLIGHT_PER_LANE, parseInflight } from "../../graph/inflight.ts";
import { optionsFromFlags } from "../../cli/search/flags.ts";

describe("expansions in flight", () => {
  it("keeps a fixed number; auto starts at two per lane before anything is measured", () => {
    expect(inflightTarget(5, { lanes: 8, expansionMs: 600_000, laneMsPerExpansion: 1 })).toBe(5);
    expect(inflightTarget("auto", { lanes: 3, expansionMs: null, laneMsPerExpansion: null })).toBe(6);
  });

  it("auto: lanes × expansion time / lane-time per expansion, with head-room, within its bounds", () => {
    // 180 s model calls (three per expansion) + 60 s verification, 4 candidates of 60 s each: 8 × 600 / 240 = 20, × 1.3 = 26.
    expect(inflightTarget("auto", { lanes: 8, expansionMs: 600_000, laneMsPerExpansion: 240_000 })).toBe(26);
    expect(inflightTarget("auto", { lanes: 1, expansionMs: 1_000, laneMsPerExpansion: 4_000 })).toBe(2);
    expect(inflightTarget("auto", { lanes: 1, expansionMs: 600_000, laneMsPerExpansion: 4 })).toBe(MAX_AUTO_INFLIGHT_PER_LANE);
    expect(inflightTarget("auto", { lanes: 64, expansionMs: 600_000, laneMsPerExpansion: 4 })).toBe(MAX_AUTO_INFLIGHT);
  });

  it("reads --inflight auto|N and refuses anything else with what to write", () => {
    expect(parseInflight("auto")).toBe("auto");
    expect(parseInflight("12")).toBe(12);
    for (const bad of ["0", "-2", "1.5", "many", "100000"]) expect(parseInflight(bad)).toBeNull();
    const flags = (inflight: string) => ({ values: { inflight }, positionals: [] }) as unknown as Parameters<typeof optionsFromFlags>[0];
    expect(optionsFromFlags(flags("4")).inflight).toBe(4);
    expect(() => optionsFromFlags(flags("lots"))).toThrow(/--inflight lots: expected auto or an integer from 1 to 256/);
  });
});
