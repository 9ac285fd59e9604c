import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";

// Reductions over rows of captured tensors (the IR's Reduce: tl.dot or unrolled), erf and GELU, and 0-d captures read
// in the kernel: variant files traced and lowered as `kforge problems new` does, rendered and run on the CPU Triton
// emulator against each variant's own float64 reference (test/offline/variant_check.py).
const root = repoRoot();
// The interpreter with torch that every Python test uses (KFORGE_PYTHON, python3 or /usr/bin/python3), or a loud failure.
const python = torchPython();
// The CPU Triton emulator is slow and load-sensitive (minutes on a busy 2-core machine): a test here gives up only when
// its child process does, never at vitest's default 60 s.
const EMULATOR_MS = 540_000;
vi.setConfig({ testTimeout: EMULATOR_MS + 30_000 });
const zoo = join(root, "bench/variants");
const fixtures = join(root, "test/offline/fixtures/variants");
const dir = mkdtempSync(join(tmpdir(), "kforge-reductions-"));
const SMALL = { BLOCK_M: 32, BLOCK_N: 16 };
const OTHER = { BLOCK_M: 16, BLOCK_N: 32, qscale: true, fast_tanh: false, mask_split: false, block_sparse: false };

interface Summary {
  variant: string;
  reductions: string[];
  calls: string[];
  rank0: string[];
  dots: number;
  switches: Record<string, unknown>;
}
interface Row {
  variant: string;
  round: number;
  ok: boolean;
  err: number;
  allow: number;
}

function check(args: string[]): { status: number | null; summaries: Record<string, Summary>; rows: Row[]; stdout: string; stderr: string } {
  const r = spawnSync(python, [join(root, "test/offline/variant_check.py"), ...args], { encoding: "utf8", timeout: EMULATOR_MS });
  const lines = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const summaries = Object.fromEntries(lines.filter((l) => "dots" in l).map((l) => [l.variant, l as Summary]));
  return { status: r.status, summaries, rows: lines.filter((l) => "ok" in l) as Row[], stdout: r.stdout, stderr: r.stderr };
}

function ir(code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(python, ["-c", code], { encoding: "utf8", cwd: join(root, "tools/offline") });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

describe("attention-gym variants that did not lower before", () => {
  it("gelu_activation, mla_rope (a tl.dot of rope tiles) and vsa_topk (an unrolled any) match their references", () => {
    const files = ["gelu_activation", "mla_rope", "vsa_topk"].map((v) => join(zoo, `${v}.py`));
    // S = 600 gives vsa_topk 10 key tiles of 64 for its 8 chosen ones: the mask drops some tiles
    const r = check([
      ...files,
      "--config",
      JSON.stringify(SMALL),
      "--config",
      JSON.stringify(OTHER),
      "--shape",
      "1x2x600x16",
      "--shape",
      "2x4/2x20:45x32",
    ]);
    expect(r.stdout, r.stderr).toContain("variant_check: 0 failing");
    expect(r.rows).toHaveLength(3 * 2 * 2);
    const { gelu_activation: gelu, mla_rope: mla, vsa_topk: vsa } = r.summaries;
    expect(gelu).toMatchObject({ calls: ["gelu", "log"], reductions: [], dots: 0 });
    expect(mla).toMatchObject({ reductions: ["sum:64"], dots: 1 }); // one extra tl.dot: [BLOCK_M, 64] x [64, BLOCK_N]
    expect(vsa).toMatchObject({ reductions: ["any:8"], dots: 0 });
    // the classifier cannot bound a tile list: the block mask skips the unchosen tiles (not the dense 2-D layout)
    expect(vsa!.switches).toMatchObject({ BLOCK_SPARSE: true, GRID2D: false });
  });
  it("every variant file of the zoo lowers to the kernel IR", () => {
    const files = readdirSync(zoo).filter((f) => f.endsWith(".py") && !["aggregate.py", "eval_mods.py", "flex_check.py"].includes(f));
    const r = spawnSync(python, [join(root, "test/offline/variant_check.py"), "--lower-only", ...files.map((f) => join(zoo, f))], {
      encoding: "utf8",
      timeout: EMULATOR_MS,
    });
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { variant: string; lowered: boolean; irError: string | null });
    expect(rows).toHaveLength(files.length);
    expect(
      rows.filter((x) => !x.lowered),
      JSON.stringify(rows),
    ).toEqual([]);
  });
});

describe("new IR nodes on small fixtures", () => {
  it("sum, mean, amax, all and a gather over rows, erf and tanh-GELU; float32 and bfloat16 dots", () => {
    const r = check([
      join(fixtures, "reductions.py"),
      join(fixtures, "dots.py"),
      "--config",
      JSON.stringify(SMALL),
      "--config",
      JSON.stringify(OTHER),
    ]);
    expect(r.stdout, r.stderr).toContain("variant_check: 0 failing");
    expect(r.rows).toHaveLength(2 * 2 * 2);
    expect(r.summaries["reductions"]).toMatchObject({
      reductions: ["sum:5", "max:5", "sum:5", "max:4", "all:3"],
      calls: ["abs", "erf", "gelu_tanh"],
      dots: 0,
    });
    expect(r.summaries["dots"]).toMatchObject({ reductions: ["sum:20", "sum:16"], dots: 2 });
  });
  it("the dots' checks can fail: without zeroing the padding past 20 the wide dot is wrong", () => {
    const r = check([join(fixtures, "dots.py"), "--replace", "tl.where(tl.arange(0, 32)[None, :] < 20,", "tl.where(tl.arange(0, 32)[None, :] < 32,"]);
    expect(r.status).toBe(1);
    expect(r.rows.filter((x) => !x.ok).length).toBe(2);
  });
  it("0-d captures are rank-0 tensors read in the kernel: changed in place between calls, the next call sees it", () => {
    const r = check([join(fixtures, "scalar_capture.py"), "--mutate"]);
    expect(r.stdout, r.stderr).toContain("variant_check: 0 failing");
    expect(r.summaries["scalar_capture"]).toMatchObject({ rank0: ["temp", "window"] });
    expect(r.rows.map((x) => x.round)).toEqual([0, 1, 0, 1]);
    expect(r.rows[1]!.allow).not.toBe(r.rows[0]!.allow); // the change mattered
    // older mods.json documents hold such captures as host scalars: read once per tensor version, so still right
    const legacy = check([join(fixtures, "scalar_capture.py"), "--mutate", "--as-param"]);
    expect(legacy.stdout, legacy.stderr).toContain("variant_check: 0 failing");
    const stale = check([join(fixtures, "scalar_capture.py"), "--mutate", "--as-param", "--replace", " or hit[1] != x._version:", ":"]);
    expect(stale.status).toBe(1);
    expect(stale.rows.filter((x) => !x.ok).map((x) => x.round)).toEqual([1, 1]);
  });
});

describe("what the lowering refuses, naming what to fix", () => {
  const write = (name: string, body: string) => {
    const file = join(dir, `${name}.py`);
    writeFileSync(file, `import torch\n\n\n${body}`);
    return file;
  };
  it("a long reduction that is not a dot, and a 2-D outer comparison", () => {
    const long = write(
      "long_sum",
      "def generate_long(B, S, S_kv, generator):\n    a = torch.randn(B, S, 128, generator=generator)\n    c = torch.randn(B, S_kv, 128, generator=generator)\n\n    def score_mod(score, b, h, q_idx, kv_idx):\n        return score + (a[b, q_idx] - c[b, kv_idx]).abs().sum()\n\n    return score_mod\n",
    );
    const outer = write(
      "outer",
      "def generate_outer(B, S, generator):\n    a = torch.randint(0, 4, (B, S, 3), generator=generator)\n\n    def mask_mod(b, h, q_idx, kv_idx):\n        return (a[b, q_idx].unsqueeze(-1) == a[b, kv_idx].unsqueeze(0)).any()\n\n    return mask_mod\n",
    );
    const r = spawnSync(python, [join(root, "test/offline/variant_check.py"), "--lower-only", long, outer], {
      encoding: "utf8",
      timeout: EMULATOR_MS,
    });
    const [l, o] = r.stdout
      .trim()
      .split("\n")
      .map((x) => JSON.parse(x) as { lowered: boolean; irError: string });
    expect(l!.lowered).toBe(false);
    expect(l!.irError).toContain(`${long}:9: a sum over 128 elements that is not a dot of a query-side and a key-side float factor`);
    expect(o!.irError).toContain(`${outer}:8: a value of shape [3, 3] (two dimensions longer than 1)`);
  });
  it("the IR's Reduce: JSON round trip, the bound variable's scope, and the renderer's unroll limit", () => {
    const r = ir(`
import json
from ir import IRError, from_json, to_json, mods_from_json
from lower import normalize
red = {"reduce": "any", "size": 3, "body": {"cmp": "==", "a": {"load": "t", "index": [{"var": "q_idx"}, {"var": "r"}]}, "b": {"var": "kv_idx"}}}
print(to_json(from_json(red)) == red)
print(json.dumps(to_json(normalize(from_json(red)))))
doc = lambda mask, rank=2: {"version": 1, "score": None, "mask": mask, "scalars": [], "tensors": {"t": {"rank": rank, "dtype": "int32"}}}
for bad in (doc({"cmp": "==", "a": {"var": "r"}, "b": {"var": "kv_idx"}}), doc({"reduce": "any", "size": 2, "body": red}),
            doc({**red, "size": 0}), doc({**red, "reduce": "prod"})):
    try:
        mods_from_json(bad)
        print("accepted")
    except IRError as e:
        print(e)
try:
    normalize(from_json({**red, "size": 65}))
except IRError as e:
    print(e)
print(mods_from_json({**doc({"load": "t", "index": []}, 0)}).mask)
`);
    expect(r.stderr).toBe("");
    const out = r.stdout.split("\n");
    expect(out[0]).toBe("True");
    expect(out[1]).toBe(
      JSON.stringify({ bin: "|", a: { bin: "|", a: red(0), b: red(1) }, b: red(2) })
        .replaceAll(",", ", ")
        .replaceAll(":", ": "),
    );
    expect(out.slice(2, 6)).toEqual([
      "mask: Var('r') outside a Reduce (it is the index a Reduce runs over)",
      "mask: a Reduce inside another Reduce (reduce over one trailing dim at a time)",
      "$.mask.size: expected the reduced length, an integer >= 1, got 0",
      "$.mask.reduce: unknown reduction 'prod' (known: all any max min sum)",
    ]);
    expect(out[6]).toContain("a Reduce any over 65 elements that is not a dot of a query-side and a key-side float factor");
    expect(out[7]).toBe("Load(tensor='t', index=())");
  });
});

function red(i: number) {
  return { cmp: "==", a: { load: "t", index: [{ var: "q_idx" }, { num: i }] }, b: { var: "kv_idx" } };
}
