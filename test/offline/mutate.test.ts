import { describe, expect, it } from "vitest";

import {
  ALLOWED,
  type ResolvedConfig,
  SWITCHES,
  allNeighbours,
  configKey,
  neighbours,
  relevantSwitches,
  tileFits,
} from "../../agents/offline/mutate.ts";

const parent: ResolvedConfig = {
  tiles: {
    "64": { BLOCK_M: 128, BLOCK_N: 64, num_warps: 4, num_stages: 3 },
    "128": { BLOCK_M: 64, BLOCK_N: 64, num_warps: 4, num_stages: 3 },
  },
  switches: {
    qscale: false,
    skip_empty: false,
    fast_tanh: true,
    tanh_bf16x2: false,
    static_max: true,
    reverse_m: false,
    mask_split: true,
    affine_kv_bias: false,
    tma: false,
    poly_exp2: false,
    grid2d: false,
    score_bands: false,
    block_sparse: false,
  },
  features: ["score_mod", "tanh"],
};

describe("offline mutation operator", () => {
  it("every neighbour is valid and differs from the parent by exactly one change", () => {
    const all = allNeighbours(parent);
    expect(all.length).toBeGreaterThan(8);
    for (const m of all) {
      for (const [d, t] of Object.entries(m.config.tiles)) {
        expect(ALLOWED.BLOCK_M).toContain(t.BLOCK_M);
        expect(ALLOWED.BLOCK_N).toContain(t.BLOCK_N);
        expect(ALLOWED.num_warps).toContain(t.num_warps);
        expect(ALLOWED.num_stages).toContain(t.num_stages);
        expect(tileFits(t, Number(d))).toBe(true);
      }
      let changes = 0;
      for (const d of Object.keys(parent.tiles)) {
        for (const k of Object.keys(parent.tiles[d]!) as (keyof (typeof parent.tiles)[string])[]) {
          if (m.config.tiles[d]![k] !== parent.tiles[d]![k]) changes++;
        }
      }
      for (const s of SWITCHES) if ((m.config[s] ?? parent.switches[s]) !== parent.switches[s]) changes++;
      expect(changes, m.idea).toBe(1);
      expect(m.idea).toMatch(/->/);
    }
  });
  it("never proposes tiles that overflow shared memory", () => {
    expect(tileFits({ BLOCK_M: 128, BLOCK_N: 128, num_warps: 8, num_stages: 4 }, 128)).toBe(false);
    const big: ResolvedConfig = { ...parent, tiles: { "128": { BLOCK_M: 128, BLOCK_N: 128, num_warps: 8, num_stages: 3 } } };
    expect(allNeighbours(big).some((m) => m.idea === "D=128: num_stages 3->4")).toBe(false);
  });
  it("is seeded-deterministic and seed-sensitive", () => {
    const a = neighbours(parent, 6, 42).map((m) => m.idea);
    const b = neighbours(parent, 6, 42).map((m) => m.idea);
    const c = neighbours(parent, 6, 7).map((m) => m.idea);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBe(6);
  });
  it("skips excluded configs and switches irrelevant to the problem", () => {
    const first = neighbours(parent, 3, 1);
    const exclude = new Set(first.map((m) => configKey(m.config)));
    const next = neighbours(parent, 3, 1, { exclude });
    for (const m of next) expect(exclude.has(configKey(m.config))).toBe(false);
    expect(relevantSwitches(["mask"])).not.toContain("tanh_bf16x2");
    expect(relevantSwitches(["tanh"])).toContain("static_max");
    expect(allNeighbours({ ...parent, features: [] }).some((m) => m.idea.startsWith("static_max"))).toBe(false);
  });
  it("config keys are order-independent", () => {
    expect(configKey({ tiles: {}, qscale: true, fast_tanh: false })).toBe(configKey({ fast_tanh: false, qscale: true, tiles: {} }));
  });
});
