/** `--shapes`: parsing B x H[/Hkv] x S[:S_kv] x D and the correctness shapes derived from the benchmark shapes. */
import { describe, expect, it } from "vitest";
import { UserError } from "../../core/errors.ts";
import { loadProblem } from "../../problems/load.ts";
import { deriveCorrectness, parseShapes, withShapes } from "../../problems/shapes.ts";

describe("--shapes", () => {
  it("parses plain, GQA and cross-attention shapes", () => {
    expect(parseShapes("8x32x16384x128, 4x32/8x4096x128,2x16x1024:8192x64")).toEqual([
      { B: 8, H: 32, S: 16384, D: 128 },
      { B: 4, H: 32, Hkv: 8, S: 4096, D: 128 },
      { B: 2, H: 16, S: 1024, Skv: 8192, D: 64 },
    ]);
  });

  it("says which part is wrong and why", () => {
    expect(() => parseShapes("8x32x16384")).toThrow(/"8x32x16384" is not BxHxSxD/);
    expect(() => parseShapes("8x32/5x4096x128")).toThrow(/Hkv must divide H/);
    expect(() => parseShapes("8x32x4096x96")).toThrow(/D must be one of 16, 32, 64, 128, 256/);
    expect(() => parseShapes("")).toThrow(UserError);
  });

  it("derives small correctness shapes with odd lengths, each head dim, the GQA ratio and the S_kv/S ratio", () => {
    const c = deriveCorrectness(parseShapes("4x32/8x4096x128,2x16x1024:8192x64"));
    expect(c.length).toBeGreaterThanOrEqual(6);
    expect(new Set(c.map((s) => s.D))).toEqual(new Set([128, 64]));
    const gqa = c.filter((s) => s.D === 128);
    expect(gqa.every((s) => s.H === 4 * (s.Hkv ?? 0))).toBe(true);
    const cross = c.filter((s) => s.D === 64);
    expect(cross.every((s) => s.Hkv === undefined && (s.Skv ?? s.S) >= 7 * s.S)).toBe(true);
    expect(c.some((s) => s.S === 1) && c.some((s) => s.S % 2 === 1 && s.S > 1)).toBe(true);
    expect(c.every((s) => s.S * (s.Skv ?? s.S) <= 1537 * 1537 * 1.01)).toBe(true);
  });

  it("replaces a problem's shapes, and refuses S_kv != S_q for a suite problem", () => {
    const p = withShapes(loadProblem("softcap"), "8x32x16384x128");
    expect(p.spec.shapes.benchmark).toEqual([{ B: 8, H: 32, S: 16384, D: 128 }]);
    expect(p.spec.shapes.correctness.map((s) => s.S)).toEqual([1, 17, 77, 128, 257, 1537]);
    expect(() => withShapes(loadProblem("softcap"), "2x16x1024:8192x64")).toThrow(/S_kv != S_q needs a user variant/);
  });
});
