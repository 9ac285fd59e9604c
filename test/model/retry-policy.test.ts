import { describe, expect, it } from "vitest";
import { backoffDelay, defaultRetryPolicy, MAX_DELAY_MS, parseRetryAfter } from "../../agents/retry.ts";
import { costOf } from "../../agents/pricing.ts";

const headers = (h: Record<string, string>) => new Headers(h);

describe("backoff", () => {
  it("doubles per attempt, jitters within [ceiling/2, ceiling], and caps", () => {
    const lo = defaultRetryPolicy({ random: () => 0 });
    const hi = defaultRetryPolicy({ random: () => 0.999999 });
    expect([1, 2, 3].map((a) => backoffDelay(a, lo))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((a) => backoffDelay(a, hi))).toEqual([1000, 2000, 4000]);
    expect(backoffDelay(30, hi)).toBe(MAX_DELAY_MS);
  });

  it("prefers the server's Retry-After, capped", () => {
    const p = defaultRetryPolicy();
    expect(backoffDelay(1, p, 7000)).toBe(7000);
    expect(backoffDelay(1, p, 10 * MAX_DELAY_MS)).toBe(MAX_DELAY_MS);
  });

  it("parses Retry-After as seconds, an HTTP date, or retry-after-ms", () => {
    expect(parseRetryAfter(headers({ "retry-after": "3" }))).toBe(3000);
    expect(parseRetryAfter(headers({ "retry-after-ms": "250", "retry-after": "3" }))).toBe(250);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(headers({ "retry-after": "Thu, 01 Jan 2026 00:00:10 GMT" }), now)).toBe(10_000);
    expect(parseRetryAfter(headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(parseRetryAfter(headers({}))).toBeUndefined();
  });
});

describe("pricing", () => {
  it("bills cache hits at the cached rate and the rest at list price", () => {
    const usage = { promptTokens: 2_000_000, cachedPromptTokens: 1_000_000, completionTokens: 500_000, reasoningTokens: 400_000 };
    expect(costOf("deepseek-reasoner", usage).usd).toBeCloseTo(0.28 + 0.028 + 0.21, 6);
    expect(costOf("DeepSeek-Chat", usage).note).toBeUndefined();
    expect(costOf("my-local-r1", usage)).toEqual({ usd: 0, note: expect.stringContaining("my-local-r1") });
  });
});
