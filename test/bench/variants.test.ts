/**
 * bench/variants/ (issue 13's attention-gym suite) on the CPU: every Python file parses, every variant file has
 * a one-line docstring and imports only torch and torch.nn.attention.flex_attention, and its mods (built by
 * flex_check.py's loader, evaluated by eval_mods.py on a small grid, with a stand-in for and_masks/or_masks
 * where torch has no FlexAttention) give finite scores and boolean masks equal, at every grid point, to an
 * expectation written here from the math. flex_check.py must refuse clearly on a torch without FlexAttention.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";

const python = process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3";
const dir = join(repoRoot(), "bench", "variants");
const TOOLS = ["flex_check.py", "eval_mods.py", "aggregate.py"];

type Shape = { B: number; H: number; S: number; Skv?: number; D: number };
// biome-ignore lint/suspicious/noExplicitAny: JSON a Python script wrote; the test reads it the way the script's consumers do
type T = Record<string, any>; // the captured tensors, as nested lists
type P = { b: number; h: number; q: number; kv: number; s: number };
type Want = { score?: number; mask?: boolean };
interface Expectation {
  shape: Shape;
  params?: Record<string, unknown>;
  points?: [number, number, number, number][]; // beyond the grid
  want: (p: P, t: T) => Want;
  tensors?: (t: T, shape: Shape) => void; // checks of the captured tensors themselves
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
const mod = (a: number, n: number) => ((a % n) + n) % n; // Python's %
const div = Math.floor;
const causal = (p: P) => p.q >= p.kv;
const evenBits = (v: number) => {
  let x = 0;
  for (let i = 0; 2 * i < 32; i++) x |= ((v >> (2 * i)) & 1) << i;
  return x;
};
// erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7)
const erf = (x: number) => {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
};
const small = (S: number, extra: Partial<Shape> = {}): Shape => ({ B: 1, H: 1, S, D: 16, ...extra });
/** STA's window of whole tiles around the (clamped) query tile, as attention-gym's get_border defines it. */
const tileWindow = (qt: number, kt: number, tiles: number, k: number) => {
  const left = div(k / 2),
    right = div(k / 2) + (k % 2) - 1;
  const centre = clamp(qt, left, tiles - 1 - right);
  return kt >= centre - left && kt <= centre + right;
};

const expectations: Record<string, Expectation> = {
  causal: { shape: small(12), want: (p) => ({ mask: causal(p) }) },
  sliding_window: {
    shape: small(12),
    points: [
      [0, 0, 2000, 976],
      [0, 0, 2000, 975],
      [0, 0, 1500, 1501],
    ],
    want: (p) => ({ mask: causal(p) && p.q - p.kv <= 1024 }),
  },
  dilated_sliding_window: {
    shape: small(16),
    params: { window: 4, dilation: 2 },
    want: (p) => ({ mask: Math.abs(p.q - p.kv) <= 4 && Math.abs(p.q - p.kv) % 2 === 0 }),
  },
  dilated_sliding_window_causal: {
    shape: small(16),
    params: { window: 4, dilation: 2 },
    want: (p) => ({ mask: p.q >= p.kv && p.q - p.kv <= 4 && (p.q - p.kv) % 2 === 0 }),
  },
  prefix_lm: { shape: small(12), params: { prefix: 4 }, want: (p) => ({ mask: p.kv < 4 || causal(p) }) },
  batchify_causal: { shape: small(12), params: { group: 4 }, want: (p) => ({ mask: div(p.q / 4) === div(p.kv / 4) && p.q >= p.kv }) },
  block_diffusion: {
    shape: small(16),
    params: { clean_len: 8, block: 2 },
    want: ({ q, kv }) => {
      const qn = q < 8,
        kn = kv < 8,
        qb = div((q % 8) / 2),
        kb = div((kv % 8) / 2);
      return { mask: (qb === kb && qn === kn) || (qn && !kn && kb < qb) || (!qn && !kn && kb <= qb) };
    },
  },
  document_causal: {
    shape: small(24),
    params: { num_docs: 4, seed: 3 },
    want: (p, t) => ({ mask: t.document_id[p.q] === t.document_id[p.kv] && p.q >= p.kv }),
    tensors: (t) => docLayout(t.offsets, t.document_id, 24, 4),
  },
  document_packed_causal: {
    shape: small(24),
    params: { num_docs: 4, seed: 1 },
    want: (p, t) => ({ mask: p.kv >= t.offsets[t.document_id[p.q]] && p.kv <= p.q }),
    tensors: (t) => docLayout(t.offsets, t.document_id, 24, 4),
  },
  shared_prefix: {
    shape: small(40),
    params: { groups: 2, responses: 2, seed: 0 },
    want: ({ q, kv }, t) => {
      const d = t.document_id[q],
        pr = t.prefix_document_id[d],
        off = t.offsets;
      return { mask: (kv >= off[d] && kv <= q) || (d !== pr && kv >= off[pr] && kv < off[pr + 1]) };
    },
    tensors: (t) => {
      docLayout(t.offsets, t.document_id, 40, 6); // 2 groups of a prompt and 2 responses
      expect(t.prefix_document_id).toEqual([0, 0, 0, 3, 3, 3]);
    },
  },
  flamingo_cross: {
    shape: small(20, { Skv: 12 }),
    params: { image_tokens: 4, seed: 0 },
    want: ({ q, kv }, t) => {
      const [start, end] = t.intervals[div(kv / 4)];
      return { mask: q >= start && q < end };
    },
    tensors: (t) => {
      expect(t.image_of_token).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
      expect(t.intervals[0][0]).toBe(0);
      expect(t.intervals[2][1]).toBe(20);
      for (let i = 0; i < 2; i++) expect(t.intervals[i][1]).toBe(t.intervals[i + 1][0]);
    },
  },
  longformer: {
    shape: small(24),
    params: { window: 2, num_global: 3, seed: 0 },
    want: ({ q, kv }, t) => ({ mask: Math.abs(q - kv) <= 2 || t.is_global[q] || t.is_global[kv] }),
    tensors: (t) => {
      expect(t.is_global[0]).toBe(true);
      const n = t.is_global.filter(Boolean).length;
      expect(n >= 2 && n <= 3).toBe(true);
    },
  },
  jetspec_tree: {
    shape: small(10, { Skv: 14 }),
    params: { fan_in: 3, seed: 0 },
    want: ({ q, kv }, t) => ({ mask: kv < 4 || t.ancestor[q][kv - 4] }),
    tensors: (t) => {
      expect(t.prefix_len).toBe(4);
      // each node's row is its parent's row plus itself; the parent is one of the 3 nodes before it
      for (let i = 0; i < 10; i++) {
        const above = t.ancestor[i].map((x: boolean, j: number) => (x && j !== i ? j : -1)).filter((j: number) => j >= 0);
        expect(t.ancestor[i][i]).toBe(true);
        if (i === 0) {
          expect(above).toEqual([]);
          continue;
        }
        const parent = Math.max(...above);
        expect(parent >= i - 3).toBe(true);
        expect(t.ancestor[i].map((x: boolean, j: number) => x && j !== i)).toEqual(t.ancestor[parent]);
      }
    },
  },
  jetspec_training: {
    shape: small(8, { Skv: 13 }),
    params: { block: 4 },
    want: ({ q, kv }) => ({ mask: kv < 5 || (div((kv - 5) / 4) === div(q / 4) && (kv - 5) % 4 <= q % 4) }),
  },
  natten: {
    // a 7-wide, 6-high canvas and a 5-wide, 3-high kernel: rows and columns must not be swapped
    shape: small(42),
    params: { canvas_h: 6, canvas_w: 7, kernel_h: 3, kernel_w: 5 },
    want: ({ q, kv }) => {
      const cr = clamp(div(q / 7), 1, 4),
        cc = clamp(q % 7, 2, 4);
      return { mask: Math.abs(cr - div(kv / 7)) <= 1 && Math.abs(cc - (kv % 7)) <= 2 };
    },
  },
  natten_tiled: {
    shape: small(48),
    params: { canvas_h: 6, canvas_w: 8, kernel: 3, tile_h: 2, tile_w: 4 },
    want: ({ q, kv }) => {
      const pos = (i: number) => {
        const tile = div(i / 8),
          r = i % 8;
        return [div(tile / 2) * 2 + div(r / 4), (tile % 2) * 4 + (r % 4)] as const;
      };
      const [qr, qc] = pos(q),
        [kr, kc] = pos(kv);
      return { mask: Math.abs(clamp(qr, 1, 4) - kr) <= 1 && Math.abs(clamp(qc, 1, 6) - kc) <= 1 };
    },
  },
  natten_morton: {
    shape: small(32),
    params: { canvas_w: 8, canvas_h: 4, kernel: 3 }, // x: 3 even bits (8 wide), y: 2 odd bits (4 high)
    want: ({ q, kv }) => {
      const cx = clamp(evenBits(q), 1, 6),
        cy = clamp(evenBits(q >> 1), 1, 2);
      return { mask: Math.abs(cx - evenBits(kv)) <= 1 && Math.abs(cy - evenBits(kv >> 1)) <= 1 };
    },
  },
  sta_2d: {
    // an 8x4 image in 1x4 tiles (2 tiles a row, 4 rows of tiles), a 3x2-tile window, then 4 text tokens
    shape: small(36),
    params: { canvas_h: 4, canvas_w: 8, tile_h: 1, tile_w: 4, kernel_h: 3, kernel_w: 8, text_len: 4 },
    want: ({ q, kv }) => {
      const qt = div(q / 4),
        kt = div(kv / 4);
      const win = tileWindow(div(qt / 2), div(kt / 2), 4, 3) && tileWindow(qt % 2, kt % 2, 2, 2);
      return { mask: (q < 32 && kv < 32 && win) || (q < 32 && kv >= 32 && kv < 36) || (q >= 32 && kv < 36) };
    },
  },
  sta_3d: {
    // 2 frames of 4x6 in 2x2x2 tiles (1x2x3 of them), a 2-tile window: it reaches the edge only along w
    shape: small(48),
    params: { frames: 2, frame_h: 4, frame_w: 6, tile: 2, kernel: 4 },
    want: ({ q, kv }) => {
      const qt = div(q / 8),
        kt = div(kv / 8);
      const coords = (t: number) => [div(t / 6), div(t / 3) % 2, t % 3];
      const [a, c] = [coords(qt), coords(kt)];
      return { mask: [1, 2, 3].every((tiles, i) => tileWindow(a[i]!, c[i]!, tiles, 2)) };
    },
  },
  svg_spatial: {
    shape: small(24),
    params: { prompt: 4, frame_tokens: 4, width: 2, round_to: 4, attn_sink: true },
    want: ({ q, kv }) => ({ mask: q < 4 || kv < 8 || Math.abs(q - kv) < 8 }),
  },
  svg_temporal: {
    shape: small(24),
    params: { prompt: 4, frames: 5, frame_tokens: 4, width: 2 }, // band 8 // 5 = 1
    want: ({ q, kv }) => ({ mask: q < 4 || kv < 4 || mod(q - 4, 4) === mod(kv - 4, 4) }),
  },
  vsa_block_map: {
    shape: { B: 2, H: 2, S: 16, D: 16 },
    params: { tile: 4, keep: 0.5, seed: 0 },
    want: ({ b, h, q, kv }, t) => ({ mask: t.block_map[b][h][div(q / 4)][div(kv / 4)] }),
    tensors: (t) => {
      for (const rows of t.block_map.flat())
        rows.forEach((row: boolean[], i: number) => {
          expect(row[i]).toBe(true); // a query tile keeps its own tile
          expect(row.filter(Boolean).length >= 2 && row.filter(Boolean).length <= 3).toBe(true);
        });
    },
  },
  vsa_topk: {
    shape: { B: 1, H: 2, S: 16, D: 16 },
    params: { tile: 4, top_k: 2, seed: 0 },
    want: ({ b, h, q, kv }, t) => ({ mask: t.topk_tiles[b][h][div(q / 4)].includes(div(kv / 4)) }),
    tensors: (t) => {
      for (const row of t.topk_tiles.flat(2)) expect(row[0] < row[1]).toBe(true);
    },
  },
  softcap: { shape: small(8), want: (p) => ({ score: 30 * Math.tanh(p.s / 30) }) },
  alibi: { shape: small(8, { H: 4 }), want: (p) => ({ score: p.s + 2 ** (-2 * (p.h + 1)) * (p.kv - p.q) }) },
  alibi_slopes: {
    shape: small(8, { H: 4 }),
    want: (p) => ({ score: p.s + 2 ** (-2 * (p.h + 1)) * (p.kv - p.q), mask: causal(p) }),
    tensors: (t) => expect(t.slopes).toEqual([0.25, 0.0625, 0.015625, 0.00390625]),
  },
  rel_bias_table: {
    shape: small(12, { H: 2 }),
    params: { max_distance: 3 },
    want: (p, t) => ({ score: p.s + t.table[p.h][clamp(p.kv - p.q, -3, 3) + 3] }),
    tensors: (t) => expect([t.table.length, t.table[0].length]).toEqual([2, 7]),
  },
  sandwich: {
    shape: small(8, { H: 2 }),
    params: { max_seq_len: 8, d_bar: 8 },
    want: (p) => {
      let bias = 0;
      for (let i = 0; i < 4; i++) bias += Math.cos(Math.abs(p.q - p.kv) / 10000 ** ((2 * i) / 8));
      return { score: p.s + (bias * 2) / (8 * (p.h + 1)), mask: causal(p) };
    },
  },
  graphormer_spatial: {
    shape: { B: 2, H: 2, S: 16, D: 16 },
    params: { max_distance: 3, widths: [4, 2] },
    want: (p, t) => {
      const w = p.b === 0 ? 4 : 2;
      const d = Math.min(4, Math.abs(div(p.q / w) - div(p.kv / w)) + Math.abs((p.q % w) - (p.kv % w)));
      expect(t.distances[p.b][p.q][p.kv]).toBe(d);
      return { score: p.s + t.spatial_bias[p.h][d] };
    },
  },
  graphormer_edge: {
    shape: { B: 1, H: 2, S: 16, D: 16 },
    params: { width: 4, max_hops: 3, edge_types: 3 },
    want: ({ b, h, q, kv, s }, t) => {
      const len = Math.min(3, Math.abs(div(q / 4) - div(kv / 4)) + Math.abs((q % 4) - (kv % 4)));
      expect(t.path_lengths[b][q][kv]).toBe(len);
      let total = 0;
      for (let n = 0; n < len; n++) total += t.edge_bias[h][n * 3 + t[`path_edge_types_${n}`][b][q][kv]];
      return { score: s + total / Math.max(len, 1) };
    },
    tensors: (t) => {
      const [h0, h1] = [t.path_edge_types_0[0], t.path_edge_types_1[0]];
      for (let q = 0; q < 16; q++) {
        if (q % 4 < 3) expect(h0[q][q + 1]).toBe(h0[q + 1][q]); // one edge, whichever way it is walked
        if (q % 4 < 2) expect(h1[q][q + 2]).toBe(h0[q + 1][q + 2]); // the second hop of a 2-step row path
        if (q < 12) expect(h0[q][q + 4]).toBe(h0[q + 4][q]);
      }
    },
  },
  mla_rope: {
    shape: small(6, { H: 2 }),
    params: { rope_dim: 4, scale: 0.5 },
    want: ({ b, h, q, kv, s }, t) => {
      const qr: number[] = t.q_rope[b][h][q],
        kr: number[] = t.k_rope[b][kv];
      return { score: s + 0.5 * qr.reduce((acc, x, i) => acc + x * kr[i]!, 0) };
    },
  },
  gelu_activation: {
    shape: small(8),
    want: ({ s }) => ({ score: Math.log(0.5 * s * (1 + erf(s / Math.SQRT2)) + 1) }),
  },
};

/** Document offsets start at 0, end at S, increase strictly, and document_id agrees with them. */
function docLayout(offsets: number[], documentId: number[], S: number, docs: number): void {
  expect(offsets.length).toBe(docs + 1);
  expect(offsets[0]).toBe(0);
  expect(offsets[docs]).toBe(S);
  for (let d = 0; d < docs; d++) {
    expect(offsets[d + 1]! > offsets[d]!).toBe(true);
    for (let i = offsets[d]!; i < offsets[d + 1]!; i++) expect(documentId[i]).toBe(d);
  }
}

/**
 * Shapes like those kforge derives for correctness from a variant's benchmark shapes (problems/shapes.ts: query
 * lengths 1, 17, 77, 128, 257, 1537, odd key lengths in the benchmark's S_kv/S ratio, 1-3 heads): a variant's
 * factory must build at all of them with its defaults, since kforge calls it so.
 */
function derivedShapes(name: string): Shape[] {
  const ratio = { flamingo_cross: 0.5, jetspec_tree: 5, jetspec_training: 2 }[name] ?? 1;
  return [1, 17, 77, 128, 257, 1537].map((S, i) => {
    const Skv = ratio === 1 ? S : S === 128 ? Math.round(S * ratio) : Math.max(1, Math.round(S * ratio)) | 1;
    return { B: 1 + (i % 2), H: [1, 3, 2][i % 3]!, S, ...(Skv !== S ? { Skv } : {}), D: 64 };
  });
}

interface Value {
  bool: boolean;
  v: number | boolean;
  finite: boolean;
}
interface Evaluated {
  error?: string;
  builds: { shape: Shape; ok?: boolean; error?: string }[];
  tensors: T;
  points: { at: [number, number, number, number]; score?: Value; mask?: Value }[];
}
interface Facts {
  docstring: string | null;
  imports: string[];
  kforge: { shapes: Record<string, number>[]; params?: Record<string, unknown>; correctness?: Record<string, number>[] } | null;
  factories: Record<string, { params: string[]; defaults: Record<string, unknown> }>;
}
interface Report {
  stand_in: boolean;
  files: Record<string, Facts>;
  variants: Record<string, Evaluated>;
}

const variantFiles = readdirSync(dir).filter((f) => f.endsWith(".py") && !TOOLS.includes(f));
let report: Report;

beforeAll(() => {
  const plan = {
    variants: Object.fromEntries(
      Object.entries(expectations).map(([k, e]) => [k, { shape: e.shape, params: e.params ?? {}, points: e.points ?? [], builds: derivedShapes(k) }]),
    ),
  };
  const r = spawnSync(python, [join(dir, "eval_mods.py")], { input: JSON.stringify(plan), encoding: "utf8", timeout: 300_000, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`eval_mods.py failed (${r.status}): ${r.stderr}`);
  report = JSON.parse(r.stdout) as Report;
}, 300_000);

describe("bench/variants files", () => {
  it("holds the attention-gym variants, each with an expectation in this test", () => {
    expect(variantFiles.length).toBeGreaterThanOrEqual(30);
    expect(variantFiles.map((f) => f.slice(0, -3)).sort()).toEqual(Object.keys(expectations).sort());
  });

  it("every Python file parses; every variant has a one-line docstring and imports only torch and FlexAttention", () => {
    expect(Object.keys(report.files).sort()).toEqual([...variantFiles, ...TOOLS].sort());
    for (const f of variantFiles) {
      const facts = report.files[f]!;
      expect(facts.docstring, f).toBeTruthy();
      expect(facts.docstring!.includes("\n"), `${f}: docstring of one line`).toBe(false);
      for (const m of facts.imports) expect(["torch", "torch.nn.attention.flex_attention"], `${f} imports ${m}`).toContain(m);
    }
  });

  it("every variant states its shapes, and its KFORGE params are its factory's defaults (what kforge calls it with)", () => {
    for (const f of variantFiles) {
      const { kforge, factories } = report.files[f]!;
      expect(kforge, `${f}: no KFORGE dict`).not.toBeNull();
      for (const shape of [...kforge!.shapes, ...(kforge!.correctness ?? [])]) {
        expect(
          Object.keys(shape).every((k) => ["B", "H", "S", "Skv", "Hkv", "D"].includes(k)),
          `${f}: ${JSON.stringify(shape)}`,
        ).toBe(true);
        expect([16, 32, 64, 128, 256]).toContain(shape["D"]);
      }
      expect(kforge!.shapes.length).toBeGreaterThan(0);
      const named = Object.values(factories);
      expect(named.length, `${f}: one generate_* factory at most`).toBeLessThanOrEqual(1);
      for (const [param, value] of Object.entries(kforge!.params ?? {})) {
        expect(named[0]?.defaults[param], `${f}: KFORGE param ${param} is not the factory's default`).toEqual(value);
      }
      if (named[0]) expect(Object.keys(factories)[0]).toBe(`generate_${f.slice(0, -3)}`);
    }
  });

  it("no factory parameter besides the shape's own is one kforge fills from the shape (it would be overridden)", () => {
    // kforge's own list of the spellings it fills (attention-gym's `seq_len` among them)
    const code =
      "import json, sys; sys.path.insert(0, sys.argv[1]); from kforge_harness.variant import SHAPE_ARGS; print(json.dumps(sorted(SHAPE_ARGS)))";
    const r = spawnSync(python, ["-c", code, join(repoRoot(), "tools", "verifier", "harness")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const filled = new Set<string>(JSON.parse(r.stdout) as string[]);
    expect(filled.has("seq_len")).toBe(true);
    for (const f of variantFiles) {
      for (const param of Object.keys(report.files[f]!.kforge!.params ?? {})) expect(filled.has(param), `${f}: parameter ${param}`).toBe(false);
    }
  });
});

describe("variant mods on a small grid", () => {
  for (const [name, e] of Object.entries(expectations)) {
    it(`${name}: finite scores, boolean masks, the expected value at every point`, () => {
      const got = report.variants[name]!;
      expect(got.error, `${name} failed to build or evaluate`).toBeUndefined();
      expect(got.points.length).toBe(e.shape.B * e.shape.H * e.shape.S * (e.shape.Skv ?? e.shape.S) + (e.points?.length ?? 0));
      e.tensors?.(got.tensors, e.shape);
      const seen = new Set<boolean>();
      for (const pt of got.points) {
        const [b, h, q, kv] = pt.at;
        const want = e.want({ b, h, q, kv, s: 0.25 * ((7 * q + 3 * kv) % 11) - 1 }, got.tensors);
        const where = `${name} at b=${b} h=${h} q=${q} kv=${kv}`;
        expect(pt.mask === undefined, `${where}: mask_mod present?`).toBe(want.mask === undefined);
        expect(pt.score === undefined, `${where}: score_mod present?`).toBe(want.score === undefined);
        if (want.mask !== undefined) {
          expect(pt.mask!.bool, `${where}: mask is not boolean`).toBe(true);
          expect(pt.mask!.v, where).toBe(want.mask);
          seen.add(want.mask);
        }
        if (want.score !== undefined) {
          expect(pt.score!.finite, `${where}: score not finite`).toBe(true);
          expect(pt.score!.v as number, where).toBeCloseTo(want.score, 4);
        }
      }
      // the grids are chosen so that every mask keeps some pairs and drops others
      if (got.points[0]!.mask !== undefined) expect([...seen].sort()).toEqual([false, true]);
      for (const built of got.builds) expect(built.error, `${name} at ${JSON.stringify(built.shape)}`).toBeUndefined();
      expect(got.builds.length).toBe(6);
    });
  }
});

/** flex_check.py's eager reference (vmapped mods, chunked rows) against one mod call per element in float64. */
// biome-ignore lint/complexity/noUselessStringRaw: Python source, raw so a backslash added to it later stays Python's
const REFERENCE_CHECK = String.raw`
import json, math, os, sys
import torch
here, plan = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, here)
import eval_mods
eval_mods.install_stand_in()
import flex_check
out = {}
for stem, shape in plan.items():
    module = flex_check.load_variant(os.path.join(here, stem + ".py"))
    score_mod, mask_mod, _ = flex_check.build(module, stem, shape, "cpu", flex_check.spec_of(module)["params"])
    B, H, S, D = shape["B"], shape["H"], shape["S"], shape["D"]
    s_kv = shape.get("Skv", S)
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(B, H, n, D, generator=gen) for n in (S, s_kv, s_kv))
    got, kept = flex_check.reference(q, k, v, score_mod, mask_mod, 0.25, torch.arange(S), torch.float32)
    i = torch.tensor
    want, n_kept = torch.zeros(B, H, S, D, dtype=torch.float64), 0
    for b in range(B):
        for h in range(H):
            for qi in range(S):
                row = []
                for kj in range(s_kv):
                    s = (q[b, h, qi].double() @ k[b, h, kj].double()) * 0.25
                    if score_mod is not None:
                        s = torch.as_tensor(score_mod(s, i(b), i(h), i(qi), i(kj))).double()
                    keep = mask_mod is None or bool(mask_mod(i(b), i(h), i(qi), i(kj)))
                    n_kept += keep
                    row.append(float(s) if keep else -math.inf)
                r = torch.tensor(row, dtype=torch.float64)
                if torch.isfinite(r).any():
                    want[b, h, qi] = torch.softmax(r, 0) @ v[b, h].double()
    out[stem] = {"err": float((got.double() - want).abs().max()), "kept": kept, "want_kept": n_kept}
bh = lambda stem, shape: flex_check.depends_on_batch_or_head(flex_check.build(flex_check.load_variant(os.path.join(here, stem + ".py")), stem, shape, "cpu", {})[1], shape, "cpu")
out["per_bh"] = {"vsa_block_map": bh("vsa_block_map", {"B": 2, "H": 3, "S": 512, "D": 16}), "document_causal": bh("document_causal", {"B": 2, "H": 3, "S": 512, "D": 16})}
print(json.dumps(out))
`;

describe("flex_check.py's eager reference", () => {
  it("equals attention with one mod call per element (masks, captured tensors, cross-attention, a vector dot)", () => {
    const plan = {
      document_causal: { B: 1, H: 2, S: 24, D: 8 },
      vsa_block_map: { B: 1, H: 2, S: 16, D: 8 },
      flamingo_cross: { B: 1, H: 1, S: 20, Skv: 12, D: 8 },
      graphormer_edge: { B: 1, H: 2, S: 16, D: 8 },
      mla_rope: { B: 1, H: 2, S: 6, D: 8 },
      softcap: { B: 1, H: 1, S: 8, D: 8 },
      natten_morton: { B: 1, H: 1, S: 64, D: 8 },
      jetspec_tree: { B: 1, H: 1, S: 10, Skv: 14, D: 8 },
      sandwich: { B: 1, H: 2, S: 8, D: 8 },
      shared_prefix: { B: 1, H: 1, S: 40, D: 8 },
    };
    const r = spawnSync(python, ["-c", REFERENCE_CHECK, dir, JSON.stringify(plan)], { encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const name of Object.keys(plan)) {
      expect(out[name].err, name).toBeLessThan(1e-5);
      expect(out[name].kept, name).toBe(out[name].want_kept);
    }
    expect(out.document_causal.kept).toBeLessThan(2 * 24 * 24); // the mask was applied
    // the block mask is built per batch and head only where the mask differs across them
    expect(out.per_bh).toEqual({ vsa_block_map: true, document_causal: false });
  }, 300_000);
});

describe("flex_check.py", () => {
  it("runs on a torch with FlexAttention, and refuses clearly (exit 2) on one without", () => {
    const hasFlex = spawnSync(python, ["-c", "import torch.nn.attention.flex_attention"]).status === 0;
    const r = spawnSync(python, [join(dir, "flex_check.py"), "--device", "cpu", "--tiny", "--variants", "causal,softcap"], {
      encoding: "utf8",
      timeout: 600_000,
      env: { ...process.env, OUT: mkdtempSync(join(tmpdir(), "kforge-flex-check-")) },
    });
    if (hasFlex) {
      expect(r.stdout).toContain("2 of 2 variants run and are correct");
      expect(r.status).toBe(0);
    } else {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/has no torch\.nn\.attention\.flex_attention .*PyTorch 2\.5 or newer/);
    }
  }, 600_000);

  it("names an unknown variant instead of running nothing", () => {
    const r = spawnSync(
      python,
      ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(dir)}); import flex_check; flex_check.variant_paths(["no_such_variant"])`],
      { encoding: "utf8" },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown variants: no_such_variant");
  });
});

describe("bench/variants/aggregate.py", () => {
  let tmp: string;
  const flexOnly = (speedups: number[], tflops: number[]): VerifyResult => {
    const timings = speedups.map((x, i) => ({
      shape: { B: 4, H: 16, Hkv: 16, S: 4096 * (i + 1), D: 128 },
      ms: 1,
      tflops: tflops[i]!,
      runs: 20,
      baselines: { flex: { ms: x, tflops: tflops[i]! / x } },
      speedup: { flex: x, primary: x },
    }));
    return { status: "ok", checks: [], timings, speedup: Math.sqrt(speedups[0]! * speedups[1]!), tflops: tflops[0]!, phases: { totalMs: 1 } };
  };
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "kforge-variants-agg-"));
    const db = openDatabase(join(tmp, "kforge.sqlite"));
    const store = new TraceStore(db).setup();
    const t0 = Date.now() - 30_000;
    for (const run of ["r-natten", "r-mla"]) {
      store.createRun({ id: run, problem: `gym_${run.slice(2)}`, config: {}, budget: { wallMs: 60_000 }, now: t0 });
      store.upsertNode({
        id: `${run}.0`,
        runId: run,
        parentId: null,
        label: "root",
        depth: 0,
        iteration: 0,
        title: run,
        status: "root",
        origin: "root",
      });
      store.upsertNode({
        id: `${run}.1.1`,
        runId: run,
        parentId: `${run}.0`,
        label: "1.1",
        depth: 1,
        iteration: 1,
        title: "first",
        status: "coded",
        origin: "offline",
      });
    }
    store.recordVerification("r-natten", "r-natten.1.1", flexOnly([1.6, 2.5], [40, 50]));
    store.recordVerification("r-mla", "r-mla.1.1", { status: "compile_error", message: "dot of two vectors", phases: { totalMs: 1 } });
    store.setRunStatus("r-natten", "done", { stopReason: "budget:wall" });
    store.setRunStatus("r-mla", "done", { stopReason: "budget:wall" });
    db.close();
    writeFileSync(
      join(tmp, "flex.json"),
      JSON.stringify({
        variants: [
          { variant: "natten", runs: true },
          { variant: "mla_rope", runs: false, why_not: "compiled flex_attention failed: a dot | in the score_mod" },
        ],
      }),
    );
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function collect(name: string, rows: string[][]) {
    writeFileSync(join(tmp, `${name}.tsv`), rows.map((r) => r.join("\t")).join("\n") + "\n");
    const r = spawnSync(
      python,
      [
        join(dir, "aggregate.py"),
        "collect",
        "--db",
        join(tmp, "kforge.sqlite"),
        "--runs",
        join(tmp, `${name}.tsv`),
        "--out",
        join(tmp, name),
        "--machine",
        "NVIDIA H200 (test)",
        "--command",
        "bash bench/variants/run.sh",
        "--budget",
        "60s",
        "--cap",
        "95",
        "--python",
        python,
        "--flex",
        join(tmp, "flex.json"),
      ],
      { encoding: "utf8" },
    );
    return {
      status: r.status,
      stderr: r.stderr,
      json: JSON.parse(readFileSync(join(tmp, name, "results.json"), "utf8")),
      md: readFileSync(join(tmp, name, "results.md"), "utf8"),
    };
  }

  it("reports accepted, correct, speedup and FlexAttention's own status per variant, and issue 13's targets", () => {
    const r = collect("all", [
      ["natten", "r-natten", "0", "80", ""],
      ["mla_rope", "r-mla", "0", "90", ""],
      ["flamingo_cross", "", "2", "6", "not accepted: error (user): the mask_mod cannot be traced"],
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    const [natten, mla, flamingo] = r.json.variants;
    expect(natten).toMatchObject({ variant: "natten", accepted: true, is_correct: true, nodes: 1, flex: "yes" });
    expect(natten.speedup_flex).toBeCloseTo(Math.sqrt(1.6 * 2.5), 6);
    expect(mla).toMatchObject({ accepted: true, is_correct: false, speedup_flex: null });
    expect(mla.flex).toContain("no: compiled flex_attention failed");
    expect(flamingo).toMatchObject({ accepted: false, is_correct: false, nodes: 0 });
    expect(r.json.targets.map((t: { pass: boolean }) => t.pass)).toEqual([false, false, false]);
    expect(r.json.targets[0].detail).toBe("not accepted: flamingo_cross; no correct kernel: mla_rope");
    expect(r.md).toContain("| natten | yes | yes (1) | 1 |");
    expect(r.md).toContain("2.00x ✅");
    expect(r.md).toContain("no: compiled flex_attention failed: a dot / in the score_mod"); // a | would split the row
    expect(r.md).toContain("❌ FAIL: every variant accepted and correct");
  });

  it("passes when every variant is accepted, correct and fast enough (2.0x here)", () => {
    const r = collect("one", [["natten", "r-natten", "0", "80", ""]]);
    expect(r.status).toBe(0);
    expect(r.json.geomean_speedup_flex).toBeCloseTo(2.0, 6);
    expect(r.md).toContain("✅ pass: geometric mean at least 1.3x — measured 2.00x");
  });
});
