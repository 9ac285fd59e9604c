import { beforeAll, describe, expect, it } from "vitest";
import { familyWin, FAMILIES, rng, type Family } from "../../bench/_shared/synthetic-wins.ts";
import { REPEAT_PENALTY, retrieveWins, WEIGHTS, type RetrievalQuery } from "../../memory/retrieve.ts";
import type { WinsStore } from "../../memory/wins.ts";
import { A100, H100, openStore } from "./helpers.ts";

// Variants the queries combine; none of these combinations is in memory (or in the problem suite).
const SUITE = FAMILIES.filter((f) => !["softcap_window", "alibi_document"].includes(f.problem));
const SOFTCAP = "def score_mod(score, b, h, q_idx, kv_idx):\n    return cap * torch.tanh(score / cap)\n";
const WINDOW = "def mask_mod(b, h, q_idx, kv_idx):\n    return (q_idx >= kv_idx) & (q_idx - kv_idx < 2048)\n";

/**
 * Per family: three H100 wins (the best is the one to find), one faster A100 win, and a crowd of
 * weak wins (1.0x-1.1x) of every family on every GPU, so ranking works among 700+ entries.
 */
function fill(store: WinsStore, families: readonly Family[]): Map<string, { h100: number; a100: number }> {
  const r = rng(42);
  const best = new Map<string, { h100: number; a100: number }>();
  let serial = 0;
  store.db.transaction(() => {
    for (const f of families) {
      const top = f.baseSpeedup + 0.3;
      const h100 = store.remember(familyWin(f, r, serial++, { speedup: top, gpu: H100 })).id;
      store.remember(familyWin(f, r, serial++, { speedup: top - 0.2, gpu: H100 }));
      store.remember(familyWin(f, r, serial++, { speedup: top - 0.3, gpu: H100 }));
      const a100 = store.remember(familyWin(f, r, serial++, { speedup: top + 0.2, gpu: A100 })).id;
      best.set(f.problem, { h100, a100 });
    }
    for (let i = 0; i < 60 * families.length; i++) {
      const f = families[i % families.length]!;
      store.remember(familyWin(f, r, serial++, { speedup: 1 + r() * 0.1 }));
    }
  })();
  return best;
}

describe("retrieval for variants that are not in memory", () => {
  let store: WinsStore;
  let best: Map<string, { h100: number; a100: number }>;
  beforeAll(() => {
    store = openStore().store;
    best = fill(store, SUITE);
  });
  const top = (q: RetrievalQuery, k = 2) => retrieveWins(store, { gpu: H100, ...q }, { k }).results;
  const bestOf = (problem: string, gpu: "h100" | "a100" = "h100") => best.get(problem)![gpu];

  /** The top two are one best kernel from each family group (any problem of the group). */
  function expectOneOfEach(q: RetrievalQuery, groups: [string[], string[]]) {
    const results = top(q);
    expect(results).toHaveLength(2);
    for (const group of groups) {
      const hit = results.find((r) => group.includes(r.win.problem));
      expect(hit, `no ${group.join("/")} kernel in the top 2: ${results.map((r) => r.win.problem)}`).toBeDefined();
      expect(hit!.win.id).toBe(bestOf(hit!.win.problem));
    }
  }

  it("softcap + sliding window (from sources) brings back the best softcap and the best sliding-window kernels first", () => {
    expectOneOfEach({ scoreMod: SOFTCAP, maskMod: WINDOW }, [["softcap", "softcap_causal"], ["sliding_window"]]);
  });

  it("softcap + sliding window (from a description only)", () => {
    expectOneOfEach({ description: "softcap with a sliding window" }, [["softcap", "softcap_causal"], ["sliding_window"]]);
  });

  it("ALiBi + documents", () => {
    const alibi = "def score_mod(score, b, h, q_idx, kv_idx):\n    return score + slopes[h] * (kv_idx - q_idx)\n";
    const docs = "def mask_mod(b, h, q_idx, kv_idx):\n    return (doc_ids[q_idx] == doc_ids[kv_idx]) & (q_idx >= kv_idx)\n";
    expectOneOfEach({ scoreMod: alibi, maskMod: docs }, [["alibi", "alibi_causal"], ["document"]]);
  });

  it("softcap + GQA (description and shapes)", () => {
    expectOneOfEach({ description: "soft-capped attention with grouped KV heads", shapes: [{ H: 32, Hkv: 8 }] }, [
      ["softcap", "softcap_causal"],
      ["gqa"],
    ]);
  });

  it("relative position bias on a local window", () => {
    const relpos = "def score_mod(score, b, h, q, kv):\n    return score + (q - kv)\n";
    expectOneOfEach({ scoreMod: relpos, maskMod: WINDOW }, [["relpos"], ["sliding_window"]]);
  });

  it("prefix LM with soft-capping", () => {
    const prefix = "def mask_mod(b, h, q_idx, kv_idx):\n    return (kv_idx < PREFIX) | (q_idx >= kv_idx)\n";
    expectOneOfEach({ scoreMod: SOFTCAP, maskMod: prefix }, [["softcap", "softcap_causal"], ["prefix_lm"]]);
  });

  it("2-D neighbourhood with soft-capping", () => {
    expectOneOfEach({ description: "natten 2-D neighbourhood attention with tanh soft-capping" }, [["softcap", "softcap_causal"], ["natten_2d"]]);
  });

  it("prefers wins measured on the query's GPU", () => {
    const q = { scoreMod: SOFTCAP, maskMod: WINDOW };
    const onH100 = top({ ...q, gpu: H100 }).map((r) => r.win.id);
    const onA100 = top({ ...q, gpu: A100 }).map((r) => r.win.id);
    expect(onH100.every((id) => [...best.values()].some((b) => b.h100 === id))).toBe(true);
    expect(onA100.every((id) => [...best.values()].some((b) => b.a100 === id))).toBe(true);
  });

  it("explains every score: weighted components add up to the total", () => {
    const results = top({ description: "softcap with a sliding window" }, 5);
    expect(results).toHaveLength(5);
    for (const { score: s } of results) {
      const sum =
        WEIGHTS.similarity * s.similarity +
        WEIGHTS.coverage * s.coverage +
        WEIGHTS.text * s.text +
        WEIGHTS.speedup * s.speedup +
        WEIGHTS.gpu * s.gpu -
        REPEAT_PENALTY * s.repeat;
      expect(s.total).toBeCloseTo(sum, 10);
    }
    expect(results.map((r) => r.score.total)).toEqual([...results.map((r) => r.score.total)].sort((a, b) => b - a));
    expect(results[0]!.score.covers.length + results[1]!.score.covers.length).toBe(3); // softcap, mask, windowed
  });

  it("an exact match of the combined variant, once remembered, ranks first", () => {
    const f = FAMILIES.find((x) => x.problem === "softcap_window")!;
    const id = store.remember(familyWin(f, rng(1), 99_999, { speedup: 1.3, gpu: H100 })).id;
    try {
      const results = top({ description: "softcap with a sliding window" }, 3);
      expect(results[0]!.win.id).toBe(id);
      expect(results[0]!.score.missing).toEqual([]);
      // The next picks still bring the families it was built from, not copies of itself.
      expect(results.slice(1).map((r) => r.win.problem)).not.toContain("softcap_window");
    } finally {
      store.remove(id);
    }
  });
});

describe("retrieval in a memory without the causal softcap", () => {
  it("returns exactly the best softcap and the best sliding-window kernels, in either order", () => {
    const { store } = openStore();
    const best = fill(
      store,
      SUITE.filter((f) => f.problem !== "softcap_causal"),
    );
    const ids = retrieveWins(store, { scoreMod: SOFTCAP, maskMod: WINDOW, gpu: H100 }, { k: 2 }).results.map((r) => r.win.id);
    expect(ids.sort()).toEqual([best.get("softcap")!.h100, best.get("sliding_window")!.h100].sort());
  });

  it("on an empty memory returns nothing, without error", () => {
    const { store } = openStore();
    expect(retrieveWins(store, { description: "softcap" }).results).toEqual([]);
  });
});
