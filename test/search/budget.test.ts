import { describe, expect, it } from "vitest";
import { formatDuration, nodesLeft, parseDuration, stopReason, wallGraceMs } from "../../graph/budget.ts";
import { limitsFromFlags, optionsFromFlags } from "../../cli/search/flags.ts";
import { render } from "../../agents/render.ts";

const used = { elapsedMs: 0, nodes: 0, tokens: 0, costUsd: 0, bestSpeedup: null };

describe("budgets", () => {
  it("parses durations", () => {
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("8h")).toBe(28_800_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("45")).toBe(45_000);
    for (const bad of ["", "abc", "15x", "m15", "0s", "15m junk"]) expect(() => parseDuration(bad), bad).toThrow(/duration/);
    expect(formatDuration(3_723_000)).toBe("1h02m");
    expect(formatDuration(245_000)).toBe("4m05s");
  });

  it("stops on the first limit reached; the target only when set", () => {
    const limits = { wallMs: 1000, maxNodes: 10, maxTokens: 500, maxCostUsd: 2 };
    expect(stopReason(limits, used)).toBeNull();
    expect(stopReason(limits, { ...used, elapsedMs: 1000 })).toBe("budget:wall");
    expect(stopReason(limits, { ...used, nodes: 10 })).toBe("budget:nodes");
    expect(stopReason(limits, { ...used, tokens: 500 })).toBe("budget:tokens");
    expect(stopReason(limits, { ...used, costUsd: 2.01 })).toBe("budget:cost");
    expect(stopReason(limits, { ...used, bestSpeedup: 9 })).toBeNull();
    expect(stopReason({ ...limits, targetSpeedup: 2 }, { ...used, bestSpeedup: 2 })).toBe("target");
    expect(stopReason({ ...limits, targetSpeedup: 2 }, { ...used, bestSpeedup: 1.99 })).toBeNull();
    expect(nodesLeft(limits, { nodes: 7 })).toBe(3);
    expect(nodesLeft({ wallMs: 1 }, { nodes: 7 })).toBe(Infinity);
    expect(wallGraceMs({ wallMs: 8 * 3_600_000 })).toBe(120_000);
    expect(wallGraceMs({ wallMs: 10_000 })).toBe(5_000);
  });

  it("reads the CLI's budget flags", () => {
    const args = (values: Record<string, string>) => ({ values, positionals: [] });
    expect(limitsFromFlags(args({}))).toEqual({ wallMs: 900_000 });
    expect(limitsFromFlags(args({ budget: "8h", "max-nodes": "200", "max-tokens": "1000000", "max-cost": "20", target: "2.0" }))).toEqual({
      wallMs: 28_800_000,
      maxNodes: 200,
      maxTokens: 1_000_000,
      maxCostUsd: 20,
      targetSpeedup: 2,
    });
    expect(() => limitsFromFlags(args({ "max-nodes": "-3" }))).toThrow(/positive integer/);
    expect(() => limitsFromFlags(args({ "max-cost": "lots" }))).toThrow(/dollars/);
    expect(optionsFromFlags(args({ branching: "2", seed: "9" }))).toMatchObject({ branching: 2, seed: 9 });
    expect(() => optionsFromFlags(args({ branching: "40" }))).toThrow(/1 to 16/);
  });
});

describe("prompt rendering", () => {
  it("fills every slot and refuses an unfilled one", () => {
    expect(render("a {{x}} b {{y}}", { x: 1, y: "two" })).toBe("a 1 b two");
    // @ts-expect-error a missing variable is a type error
    expect(() => render("a {{x}} b {{y}}", { x: 1 })).toThrow(/\{\{y\}\}/);
  });
});
