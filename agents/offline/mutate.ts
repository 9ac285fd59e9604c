/**
 * The offline policy's mutation operator: the neighbours of a template config (one change each),
 * with the idea in words. Pure and seeded, so a search replays exactly.
 *
 * The config space mirrors tools/offline/config.py (the Python side is the source of truth for
 * defaults; `render.py --resolve` gives the full config this module mutates).
 */

import { seededRandom } from "../../core/random.ts";

export { seededRandom };

/** One head dim's tiles: launch shape and pipelining of the attention kernel. */
export interface TileConfig {
  BLOCK_M: number;
  BLOCK_N: number;
  num_warps: number;
  num_stages: number;
}

/** The code-variant switches of the template (see tools/offline/config.py for what each does). */
export const SWITCHES = [
  "qscale",
  "skip_empty",
  "fast_tanh",
  "tanh_bf16x2",
  "static_max",
  "reverse_m",
  "mask_split",
  "affine_kv_bias",
  "tma",
  "poly_exp2",
  "grid2d",
  "block_sparse",
  "score_bands",
] as const;
export type SwitchName = (typeof SWITCHES)[number];

/** A fully resolved template config, as `render.py --resolve` prints it. */
export interface ResolvedConfig {
  tiles: Record<string, TileConfig>;
  switches: Record<SwitchName, boolean>;
  /** Problem features (score_mod, tanh, mask, sparse_mask, irregular_mask, unbounded_mask, grid2d, score_bands): which switches matter. */
  features: string[];
}

/** A config as render.py accepts it: explicit tiles per head dim plus switches. */
export type OfflineConfig = { tiles: Record<string, TileConfig> } & Partial<Record<SwitchName, boolean>>;

/** A neighbour: the config and the one-line idea that produced it (recorded on the search node). */
export interface Mutation {
  config: OfflineConfig;
  idea: string;
}

export const ALLOWED = {
  BLOCK_M: [32, 64, 128, 256],
  BLOCK_N: [16, 32, 64, 128, 256],
  num_warps: [2, 4, 8, 16],
  num_stages: [1, 2, 3, 4, 5],
} as const;

/** H100's shared memory per block (227 KiB); tiles that cannot fit are never proposed. */
export const SMEM_LIMIT_BYTES = 227 * 1024;

/** Head dims the benchmark shapes use; the mutation only touches these. */
export const DEFAULT_HEAD_DIMS = ["128", "64"];

/** Whether a tile fits the hardware: Q tile plus num_stages K and V tiles in bf16, and warps the tile can feed. */
export function tileFits(t: TileConfig, headDim: number): boolean {
  const smem = 2 * headDim * (t.BLOCK_M + 2 * t.num_stages * t.BLOCK_N);
  return smem <= SMEM_LIMIT_BYTES && t.num_warps * 16 <= t.BLOCK_M && t.BLOCK_M * t.BLOCK_N <= 128 * 128 * 2;
}

/**
 * The problem feature a switch acts on: it changes (or, for poly_exp2, can pay off in) the kernel only when
 * the problem has that feature; null for switches that apply to any problem.
 */
export const SWITCH_FEATURE: Record<SwitchName, "tanh" | "mask" | "grid2d" | "score_bands" | null> = {
  qscale: null,
  skip_empty: "mask",
  fast_tanh: "tanh",
  tanh_bf16x2: "tanh",
  static_max: "tanh",
  reverse_m: "mask",
  mask_split: "mask",
  affine_kv_bias: null,
  tma: null,
  // H100: 3-18% slower on dense variants, within noise only where tanh also loads MUFU (bench/offline/NOTES.md)
  poly_exp2: "tanh",
  // a mask on a 2-D token grid (idx // W, idx % W): rectangles of queries and keys
  grid2d: "grid2d",
  // the host's per-shape block mask instead of the interval classifier: any mask
  block_sparse: "mask",
  // a score reading kv_idx - q_idx only through clamps: key blocks where they saturate take the folded score
  score_bands: "score_bands",
};

/**
 * Switches the 2-D grid kernel does not read (it visits a gathered key rectangle with the mask on every block):
 * while grid2d is on they only change the 1-D fallback, which the benchmark shapes never take.
 */
export const GRID_INERT: readonly SwitchName[] = ["skip_empty", "mask_split", "reverse_m", "tma", "affine_kv_bias", "block_sparse", "score_bands"];

/** The switches worth flipping for a problem with these features (and, when given, this config's switches). */
export function relevantSwitches(features: string[], switches?: Partial<Record<SwitchName, boolean>>): SwitchName[] {
  const f = new Set(features);
  const gridOn = f.has("grid2d") && switches?.grid2d === true;
  return SWITCHES.filter((s) => {
    if (gridOn && GRID_INERT.includes(s)) return false;
    // the block-sparse loops take the general score: the bands split only the interval path's mask-free run
    if (s === "score_bands" && switches?.block_sparse === true) return false;
    if (s === "affine_kv_bias") return f.has("score_mod") && !f.has("tanh");
    const needs = SWITCH_FEATURE[s];
    return needs === null || f.has(needs);
  });
}

function step(values: readonly number[], v: number, dir: 1 | -1): number | undefined {
  const i = values.indexOf(v);
  if (i < 0) return undefined;
  return values[i + dir];
}

/** Every single-change neighbour of `parent` (unshuffled, deterministic order). */
export function allNeighbours(parent: ResolvedConfig, headDims: string[] = DEFAULT_HEAD_DIMS): Mutation[] {
  const base: OfflineConfig = { tiles: structuredClone(parent.tiles), ...parent.switches };
  const out: Mutation[] = [];
  for (const d of headDims) {
    const t = parent.tiles[d];
    if (!t) continue;
    for (const key of Object.keys(ALLOWED) as (keyof TileConfig)[]) {
      for (const dir of [1, -1] as const) {
        const v = step(ALLOWED[key], t[key], dir);
        if (v === undefined) continue;
        const next = { ...t, [key]: v };
        if (!tileFits(next, Number(d))) continue;
        const cfg: OfflineConfig = { ...structuredClone(base), tiles: { ...structuredClone(base.tiles), [d]: next } };
        out.push({ config: cfg, idea: `D=${d}: ${key} ${t[key]}->${v}` });
      }
    }
  }
  for (const s of relevantSwitches(parent.features, parent.switches)) {
    const on = parent.switches[s];
    out.push({ config: { ...structuredClone(base), [s]: !on }, idea: `${s} ${on ? "on->off" : "off->on"}` });
  }
  return out;
}

/** Canonical JSON of a config (sorted keys), for de-duplication and memo keys. */
export function configKey(c: OfflineConfig): string {
  const sort = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
        )
      : v;
  return JSON.stringify(sort(c));
}

/**
 * Up to n distinct neighbours of `parent`, in a seeded random order; `prefer` filters the pool first
 * (e.g. only shrinking changes after an out-of-resources compile error) and falls back to all.
 */
export function neighbours(
  parent: ResolvedConfig,
  n: number,
  seed: number,
  opts: { headDims?: string[]; prefer?: (m: Mutation) => boolean; exclude?: Set<string> } = {},
): Mutation[] {
  const all = allNeighbours(parent, opts.headDims);
  const preferred = opts.prefer ? all.filter(opts.prefer) : all;
  const pool = preferred.length > 0 ? preferred : all;
  const rand = seededRandom(seed);
  const shuffled = pool
    .map((m) => ({ m, r: rand() }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.m);
  const seen = new Set(opts.exclude ?? []);
  seen.add(configKey({ tiles: parent.tiles, ...parent.switches }));
  const out: Mutation[] = [];
  for (const m of shuffled) {
    const key = configKey(m.config);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(m);
    if (out.length >= n) break;
  }
  return out;
}
