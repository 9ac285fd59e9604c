import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { type ResolvedConfig, allNeighbours, relevantSwitches } from "../../agents/offline/mutate.ts";
import { adaptWinConfig } from "../../agents/offline/policy.ts";
import { repoRoot } from "../../core/config.ts";
import { listProblemNames } from "../../problems/load.ts";
import { torchPython } from "../verifier/helpers.ts";

// The template's score bands (switch score_bands): a score that reads kv_idx - q_idx only through clamps (a clipped
// relative-position table) takes, on the mask-free key blocks where every clamp saturates, a score with the clamps
// folded to their bounds, so the table's gather becomes one value per program.
const root = repoRoot();
// The interpreter with torch that every Python test uses (KFORGE_PYTHON, python3 or /usr/bin/python3), or a loud failure.
const python = torchPython();
// The CPU Triton emulator is slow and load-sensitive (minutes on a busy 2-core machine): a test here gives up only when
// its child process does, never at vitest's default 60 s.
const EMULATOR_MS = 540_000;
vi.setConfig({ testTimeout: EMULATOR_MS + 30_000 });
const relBias = join(root, "bench/variants/rel_bias_table.py");
const clipped = join(root, "test/offline/fixtures/variants/clipped_offsets.py");
const bidirectional = join(root, "test/offline/fixtures/variants/bidirectional_tables.py");
const SMALL = { BLOCK_M: 32, BLOCK_N: 16 };
// S = 300 with 16-key blocks puts most blocks beyond +-128; the cross shapes (S_q != S_kv) shift the bands
const SHAPES = ["1x2x300x16", "2x2/1x90:420x32", "1x1x333:200x16"];

interface Checked {
  status: number | null;
  stdout: string;
  stderr: string;
  switches: Record<string, Record<string, unknown>>;
  rows: { variant: string; ok: boolean; err: number; allow: number }[];
}

function check(files: string[], args: string[]): Checked {
  const r = spawnSync(python, [join(root, "test/offline/variant_check.py"), ...files, ...args], { encoding: "utf8", timeout: EMULATOR_MS });
  const lines = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const switches = Object.fromEntries(lines.filter((l) => "switches" in l).map((l) => [l.variant, l.switches]));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, switches, rows: lines.filter((l) => "ok" in l) };
}

/** Runs Python in tools/offline with the variant's traced IR rendered (the harness's tracer, as `problems new` does). */
function rendered(file: string, config: object): string {
  const code = [
    "import json, sys",
    `sys.argv = ['x']; sys.path.insert(0, ${JSON.stringify(join(root, "test/offline"))})`,
    "import variant_check as V",
    "from ir import mods_from_json",
    "from render import render_mods, features_of",
    `prob, ir = V.lower(${JSON.stringify(file)})`,
    "m = mods_from_json(ir)",
    `print(json.dumps({"src": render_mods("v", m, {}, ${JSON.stringify(JSON.stringify(config))}), "features": sorted(features_of(m))}))`,
  ].join("\n");
  return execFileSync(python, ["-c", code], { encoding: "utf8" });
}

function bands(expr: string): string {
  // lower.score_bands on a score written in the IR's JSON form, lowered as the kernel sees it
  const code = [
    "import json, sys",
    `sys.path.insert(0, ${JSON.stringify(join(root, "tools/offline"))})`,
    "from ir import from_json",
    "from lower import drop_row_constants, lower_score, score_bands",
    `b = score_bands(drop_row_constants(lower_score(from_json(json.loads(${JSON.stringify(expr)})))))`,
    "print('none' if b is None else json.dumps({k: (b[k][0] if b[k] else None) for k in ('lo', 'hi')} | {'gather': b['gather']}))",
  ].join("\n");
  return execFileSync(python, ["-c", code], { encoding: "utf8" }).trim();
}

const v = (name: string) => ({ var: name });
const n = (x: number) => ({ num: x });
const bin = (op: string, a: object, b: object) => ({ bin: op, a, b });
const call = (fn: string, ...args: object[]) => ({ call: fn, args });
const score = v("score");
const off = bin("-", v("kv_idx"), v("q_idx"));
const back = bin("-", v("q_idx"), v("kv_idx"));

describe("score bands: where the clamps of kv_idx - q_idx saturate", () => {
  it("finds the offsets of a clamp, a reversed one, a nested one-sided pair, and nothing where there is no such clamp", () => {
    expect(bands(JSON.stringify(bin("+", score, call("clamp", off, n(-128), n(128)))))).toBe('{"lo": -128, "hi": 128, "gather": false}');
    // clamp(q - kv + 5, -8, 8): q - kv = -(kv - q), so kv - q <= -3 gives 8 and kv - q >= 13 gives -8
    expect(bands(JSON.stringify(bin("+", score, call("clamp", bin("+", back, n(5)), n(-8), n(8)))))).toBe('{"lo": -3, "hi": 13, "gather": false}');
    // clamp_max(clamp_min(q - kv - 3, 0), 40): 40 from kv - q <= -43, 0 from kv - q >= -3
    const nested = call("clamp_max", call("clamp_min", bin("-", back, n(3)), n(0)), n(40));
    expect(bands(JSON.stringify(bin("*", score, nested)))).toBe('{"lo": -43, "hi": -3, "gather": false}');
    // bidirectional tables: where(kv - q >= 0, fwd[clamp(kv - q, 0, 8)], bwd[clamp(q - kv, 0, 8)]) keeps one table beyond +-8
    const fwd = { load: "f", index: [v("h"), call("clamp", off, n(0), n(8))] };
    const bwd = { load: "g", index: [v("h"), call("clamp", back, n(0), n(8))] };
    const bidi = { where: [{ cmp: ">=", a: off, b: n(0) }, fwd, bwd] };
    expect(bands(JSON.stringify(bin("+", score, bidi)))).toBe('{"lo": -8, "hi": 8, "gather": true}');
    // a clamp up to 2^31 - 1 is no band on that side (its offset would overflow the kernel's int32 sums)
    expect(bands(JSON.stringify(bin("+", score, call("clamp", off, n(-8), n(2147483647)))))).toBe('{"lo": -8, "hi": null, "gather": false}');
    // one side only: clamp_min(kv - q, 0) is constant for kv - q <= 0 and the offset itself above
    expect(bands(JSON.stringify(bin("+", score, call("clamp_min", off, n(0)))))).toBe('{"lo": 0, "hi": null, "gather": false}');
    // a bias table read at the clipped offset: the gather disappears beyond both offsets
    const table = { load: "t", index: [v("h"), bin("+", call("clamp", off, n(-4), n(4)), n(4))] };
    expect(bands(JSON.stringify(bin("+", score, table)))).toBe('{"lo": -4, "hi": 4, "gather": true}');
    // not an offset: kv alone, a doubled offset; float bounds; an unclipped offset (ALiBi)
    for (const arg of [v("kv_idx"), bin("*", off, n(2))])
      expect(bands(JSON.stringify(bin("+", score, call("clamp", arg, n(-4), n(4)))))).toBe("none");
    expect(bands(JSON.stringify(bin("+", score, call("clamp", off, n(-4.5), n(4.5)))))).toBe("none"); // float bounds
    expect(bands(JSON.stringify(bin("+", score, off)))).toBe("none");
  });

  it("rel_bias_table renders banded kernels by default (the gather folded into the prologue); the suite problems do not", () => {
    const out = JSON.parse(rendered(relBias, {})) as { src: string; features: string[] };
    expect(out.features).toEqual(expect.arrayContaining(["score_bands", "score_bands_gather"]));
    const hooks = out.src.slice(out.src.indexOf("# ==== HOOKS:"));
    expect(hooks).toContain("BANDS=True");
    expect(hooks).toMatch(/def _score_bands\(\):\n.*\n {4}return -128, 128\n/);
    // beyond the offsets the score is qk * c plus one value per program: no tl.load in _score_lo / _score_hi
    for (const hook of ["_score_lo", "_score_hi"]) {
      const body = hooks.slice(hooks.indexOf(`def ${hook}(`), hooks.indexOf("@triton.jit", hooks.indexOf(`def ${hook}(`)));
      expect(body).toMatch(/return \(\(qk \* _u0\) \+ _u\d+\)/);
      expect(body).not.toContain("tl.load");
    }
    expect(hooks).toMatch(/tl\.load\(t_table \+ h \* t_table_s0 \+ 0 \* t_table_s1/); // table[h, 0], hoisted
    expect(hooks).toMatch(/tl\.load\(t_table \+ h \* t_table_s0 \+ 256 \* t_table_s1/); // table[h, 256]
    expect(out.src).toContain("softmax online; score banded beyond offsets kv - q <= -128 / kv - q >= 128");
    const off = JSON.parse(rendered(relBias, { score_bands: false })) as { src: string };
    expect(off.src).toContain("BANDS=False");
    const suite = listProblemNames();
    expect(suite).toHaveLength(12);
    for (const p of suite) {
      const src = execFileSync(python, [join(root, "tools/offline/render.py"), "--problem", join(root, "problems", p)], { encoding: "utf8" });
      expect(src, p).toContain("BANDS=False");
    }
  });

  it("score_bands is a search mutation only where the score has clipped offsets", () => {
    expect(relevantSwitches(["score_mod", "score_bands"])).toContain("score_bands");
    expect(relevantSwitches(["score_mod", "tanh"])).not.toContain("score_bands");
    // with the block-sparse loops on (a mask the classifier cannot bound), the bands are not used: no mutation
    expect(relevantSwitches(["score_mod", "score_bands", "mask"], { block_sparse: true })).not.toContain("score_bands");
    expect(relevantSwitches(["score_mod", "score_bands", "mask"], { block_sparse: false })).toContain("score_bands");
    const out = JSON.parse(rendered(relBias, {})) as { features: string[] };
    const resolved = JSON.parse(
      execFileSync(python, [join(root, "tools/offline/render.py"), "--problem", join(root, "problems/softcap"), "--resolve"], { encoding: "utf8" }),
    ) as ResolvedConfig;
    const parent = { ...resolved, switches: { ...resolved.switches, score_bands: true }, features: out.features };
    expect(allNeighbours(parent).map((m) => m.idea)).toContain("score_bands on->off");
  });
});

describe("score bands: a prior win's setting seeds another banded variant", () => {
  it("a banded win's score_bands carries to a banded problem; a win without bands leaves this problem's default", () => {
    const win = (JSON.parse(rendered(relBias, { score_bands: false })) as { src: string }).src;
    const base = JSON.parse(
      execFileSync(python, [join(root, "tools/offline/render.py"), "--problem", join(root, "problems/softcap"), "--resolve"], { encoding: "utf8" }),
    ) as ResolvedConfig;
    const banded = { ...base, switches: { ...base.switches, score_bands: true }, features: ["score_mod", "score_bands", "score_bands_gather"] };
    // the win ran with the switch off (BANDS=False in its config block): it had no bands, so it says nothing about them
    expect(adaptWinConfig(win, banded, ["128", "64"])!.config.score_bands).toBe(true);
    const on = (JSON.parse(rendered(relBias, { score_bands: true, BLOCK_N: 32 })) as { src: string }).src;
    const carried = adaptWinConfig(on, { ...banded, switches: { ...banded.switches, score_bands: false } }, ["128", "64"])!;
    expect(carried.config.score_bands).toBe(true);
    expect(carried.note).toContain("score_bands on");
    // a problem without clipped offsets keeps its own (off) setting whatever the win had
    expect(adaptWinConfig(on, base, ["128", "64"])!.config.score_bands).toBe(false);
  });
});

describe("score bands: correct on the CPU Triton emulator", () => {
  it("rel_bias_table, nested one-sided clips with a mask, and bidirectional tables match their references, bands on and off", () => {
    const configs = [SMALL, { BLOCK_M: 16, BLOCK_N: 32, qscale: true, mask_split: false }, { ...SMALL, score_bands: false }];
    const r = check(
      [relBias, clipped, bidirectional],
      [...configs.flatMap((c) => ["--config", JSON.stringify(c)]), ...SHAPES.flatMap((s) => ["--shape", s])],
    );
    expect(r.stdout, r.stderr).toContain("variant_check: 0 failing");
    expect(r.rows).toHaveLength(3 * configs.length * SHAPES.length);
    expect(r.switches.bidirectional_tables).toMatchObject({ BANDS: true });
    expect(r.switches.rel_bias_table).toMatchObject({ BANDS: true, HAS_MASK: false });
    expect(r.switches.clipped_offsets).toMatchObject({ BANDS: true, HAS_MASK: true });
    expect(r.status).toBe(0);
  });

  it("the check can fail: a band one block too wide, or offsets one block off, are caught", () => {
    const breaks = [
      ["tl.maximum(q_lo + t_lo + 1, 0) // BLOCK_N, flo)", "tl.maximum(q_lo + t_lo + 1, 0) // BLOCK_N + 1, flo)"],
      ["tl.cdiv(tl.maximum(q_hi + t_hi, 0), BLOCK_N)", "tl.cdiv(tl.maximum(q_hi + t_hi, 0), BLOCK_N) - 1"],
      ["return -128, 128", "return -112, 128"],
      ["return -128, 128", "return -128, 112"],
    ] as const;
    for (const [from, to] of breaks) {
      const r = check([relBias], ["--config", JSON.stringify(SMALL), "--shape", SHAPES[0]!, "--replace", from, to]);
      expect(r.status, to).toBe(1);
      expect(r.stdout, to).toMatch(/variant_check: 1 failing/);
    }
  });
});
