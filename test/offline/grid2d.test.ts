import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { GRID_INERT, type ResolvedConfig, allNeighbours, relevantSwitches } from "../../agents/offline/mutate.ts";
import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";

// The offline template's 2-D layout (switch grid2d): masks on a token grid get rectangles of queries and keys.
const root = repoRoot();
// The interpreter with torch that every Python test uses (KFORGE_PYTHON, python3 or /usr/bin/python3), or a loud failure.
const python = torchPython();
// The CPU Triton emulator is slow and load-sensitive (minutes on a busy 2-core machine): a test here gives up only when
// its child process does, never at vitest's default 60 s.
const EMULATOR_MS = 540_000;
vi.setConfig({ testTimeout: EMULATOR_MS + 30_000 });
const oddGrid = join(root, "test/fixtures/problems/grid_odd");

function renderPy(problemDir: string, args: string[]): string {
  return execFileSync(python, [join(root, "tools/offline/render.py"), "--problem", problemDir, ...args], { encoding: "utf8" });
}

function resolved(problemDir: string, config = "{}"): { switches: Record<string, boolean>; features: string[] } {
  return JSON.parse(renderPy(problemDir, ["--resolve", "--config", config])) as { switches: Record<string, boolean>; features: string[] };
}

function emuCheck(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(python, [join(root, "test/offline/emu_check.py"), ...args], { encoding: "utf8", timeout: EMULATOR_MS });
  return { status: r.status, stdout: r.stdout };
}

describe("2-D grid layout: detection", () => {
  it("natten_2d and the odd-width fixture are grid masks with grid2d on; 1-D masks are not", () => {
    for (const dir of [join(root, "problems/natten_2d"), oddGrid]) {
      const r = resolved(dir);
      expect(r.features).toContain("grid2d");
      expect(r.switches.grid2d).toBe(true);
    }
    for (const p of ["causal", "document", "sliding_window", "prefix_lm", "full"]) {
      const r = resolved(join(root, "problems", p));
      expect(r.features).not.toContain("grid2d");
      expect(r.switches.grid2d).toBe(false);
    }
  });

  it("a mask mixing two widths, or reading a raw index, keeps the 1-D kernel", () => {
    const dir = mkdtempSync(join(tmpdir(), "kforge-grid-"));
    const cases = {
      "two widths": "(q_idx // 64 - kv_idx // 32 <= 1) & (q_idx % 64 >= kv_idx % 64)",
      "raw index": "(q_idx // 64 == kv_idx // 64) & (q_idx >= kv_idx)",
    };
    for (const [name, expr] of Object.entries(cases)) {
      writeFileSync(
        join(dir, "reference.py"),
        `def make_score_mod(**_):\n    return None\n\n\ndef make_mask_mod(**_):\n    def m(b, h, q_idx, kv_idx):\n        return ${expr}\n    return m\n`,
      );
      const r = resolved(dir);
      expect(r.features, name).toContain("mask");
      expect(r.features, name).not.toContain("grid2d");
      expect(renderPy(dir, []), name).toContain("GRID2D=False");
    }
  });

  it("grid2d is a mutation only where the mask is on a grid", () => {
    expect(relevantSwitches(["mask", "sparse_mask", "grid2d"])).toContain("grid2d");
    expect(relevantSwitches(["mask", "sparse_mask"])).not.toContain("grid2d");
  });

  it("the module carries the grid hooks and falls back to the 1-D kernel where the grid does not fit", () => {
    const src = renderPy(join(root, "problems/natten_2d"), []);
    const hooks = src.slice(src.indexOf("# ==== HOOKS:"));
    expect(hooks).toContain("def _classify_grid(");
    expect(hooks).toContain("_i0 = qr_lo - kr_hi"); // interval bounds over grid rows, not a stub
    expect(hooks).toContain("return None, False, float(_host_scalar(params['grid_w']))"); // the host's grid width (a number; a tensor read once per version)
    expect(hooks).toContain("GRID2D=True");
    // the template's host takes the grid kernel only where the width fits and S_q == S_kv, else the 1-D one
    expect(src).toContain('if _CFG["GRID2D"] and gw is not None and S_Q == S_KV');
    const off = renderPy(join(root, "problems/natten_2d"), ["--config", '{"grid2d": false}']);
    expect(off).toContain("GRID2D=False");
    expect(off.slice(off.indexOf("# ==== HOOKS:"))).toContain("return kr_lo >= 0, kr_lo >= 0"); // the grid classifier is a stub
  });
});

describe("2-D grid layout: correct on the CPU Triton emulator", () => {
  const configs = [
    '{"BLOCK_M":32,"BLOCK_N":16}',
    '{"BLOCK_M":64,"BLOCK_N":32}',
    '{"BLOCK_M":128,"BLOCK_N":64}',
    '{"BLOCK_M":16,"BLOCK_N":16,"grid2d":false}',
  ];

  it("natten_2d and a 24-wide grid with a score_mod, GQA and partial rows, at several tiles", () => {
    const r = emuCheck(["--problem", "natten_2d", "--problem", oddGrid, "--max-s", "1100", ...configs.flatMap((c) => ["--config", c])]);
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(r.stdout.split("\n").filter((l) => l.includes('"ok": true')).length).toBe(4 * 4 + 5 * 4);
    expect(r.status).toBe(0);
  });

  it("the check can fail: a key rectangle one row or column short is caught", () => {
    const src = renderPy(oddGrid, ["--config", '{"BLOCK_M":32,"BLOCK_N":16}']);
    const dir = mkdtempSync(join(tmpdir(), "kforge-grid-broken-"));
    const breaks = [
      ["r0 = tl.min(tl.where(may_r, rv, n_rows), 0)", "r0 = tl.min(tl.where(may_r, rv, n_rows), 0) + 1"],
      ["c0 = tl.min(tl.where(may_c, cv, GW), 0)", "c0 = tl.min(tl.where(may_c, cv, GW), 0) + 1"],
    ] as const;
    for (const [from, to] of breaks) {
      expect(src).toContain(from);
      const file = join(dir, "broken.py");
      writeFileSync(file, src.replace(from, to));
      const r = emuCheck(["--problem", oddGrid, "--kernel", file]);
      expect(r.status, to).toBe(1);
      expect(r.stdout).toMatch(/emu_check: [1-9]\d* failing/);
    }
  });
});

describe("2-D grid layout: search neighbours", () => {
  it("while grid2d is on, switches only the 1-D fallback reads are not proposed; switching grid2d off brings them back", () => {
    const r = resolved(join(root, "problems/natten_2d"));
    const parent = {
      tiles: JSON.parse(renderPy(join(root, "problems/natten_2d"), ["--resolve"])).tiles,
      switches: r.switches,
      features: r.features,
    } as ResolvedConfig;
    const ideas = allNeighbours(parent).map((m) => m.idea);
    expect(ideas).toContain("grid2d on->off");
    for (const s of GRID_INERT)
      expect(
        ideas.some((i) => i.startsWith(`${s} `)),
        s,
      ).toBe(false);
    expect(ideas.some((i) => i.startsWith("D=128: BLOCK_N"))).toBe(true);
    const off = allNeighbours({ ...parent, switches: { ...parent.switches, grid2d: false } }).map((m) => m.idea);
    expect(off).toContain("grid2d off->on");
    expect(off).toContain("skip_empty off->on");
    expect(off.some((i) => i.startsWith("mask_split "))).toBe(true);
  });
});
