/**
 * The structure section of a variant's prompt (tools/offline/analyze.py on its traced IR): facts a fast kernel can
 * exploit, stated for the model. Through the real CLI and the real sandboxed harness (`problems new`), and the
 * analysis on suite problems whose structure is known.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { analyzeStructure } from "../../problems/scaffold.ts";
import { kforgeInProcess as run, torchPython, useKforgeHome } from "./helpers.ts";

const root = repoRoot();
const zoo = join(root, "bench", "variants");
const homeDir = useKforgeHome("kforge-structure-");

function analyze(problem: string): string[] {
  return JSON.parse(execFileSync(torchPython(), [join(root, "tools/offline/analyze.py"), "--problem", problem], { encoding: "utf8" })) as string[];
}

function section(prompt: string): string {
  const at = prompt.indexOf("## Structure kforge's analysis found in these mods");
  return at < 0 ? "" : prompt.slice(at, prompt.indexOf("## The variant, as its author wrote it"));
}

describe("a variant's prompt states the structure kforge found", () => {
  it("a clipped relative-position table: the saturated scores beyond both offsets, as the mod reads them", async () => {
    const made = await run(["problems", "new", "relb", "--score-mod", join(zoo, "rel_bias_table.py")]);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toBe("");
    const s = section(readFileSync(join(homeDir(), "problems", "relb", "prompt.md"), "utf8"));
    expect(s).toContain("where kv_idx - q_idx <= -128 it is `score + table[h, 0]`");
    expect(s).toContain("where kv_idx - q_idx >= 128 it is `score + table[h, 256]`");
    expect(s).toContain("no per-element gather");
    expect(s).not.toContain("mask"); // no mask_mod: nothing said about one
  }, 240_000);

  it("a mask over captured tensors: a data-dependent block mask, naming the tensors it reads", async () => {
    const fx = join(zoo, "flamingo_cross.py");
    const made = await run(["problems", "new", "flam", "--score-mod", fx, "--mask-mod", fx]);
    expect(made.status, made.stderr).toBe(0);
    const s = section(readFileSync(join(homeDir(), "problems", "flam", "prompt.md"), "utf8"));
    expect(s).toMatch(/Data-dependent mask: .* the values of `image_of_token`, `intervals`/);
    expect(s).toContain("create_block_mask");
    expect(s).not.toContain("Clipped offsets");
  }, 240_000);

  it("a plain score_mod with nothing to exploit gets no section", async () => {
    const made = await run(["problems", "new", "soft", "--score-mod", join(zoo, "softcap.py")]);
    expect(made.status, made.stderr).toBe(0);
    expect(readFileSync(join(homeDir(), "problems", "soft", "prompt.md"), "utf8")).not.toContain("## Structure");
  }, 240_000);
});

describe("kforge problems show states the structure", () => {
  it("for a suite problem (translated from reference.py) and a variant (its mods.json), in text and JSON", async () => {
    const causal = await run(["problems", "show", "causal"]);
    expect(causal.status, causal.stderr).toBe(0);
    expect(causal.stdout).toMatch(/structure \(kforge's analysis of the mods\):\n {2}- Bounded mask: .*\n {2}- Density: the mask keeps about 5\d%/);
    const json = await run(["problems", "show", "sliding_window", "--json"]);
    expect((JSON.parse(json.stdout) as { structure: string[] }).structure.join("\n")).toMatch(/^Bounded mask: .*\nDensity: /s);
    expect((await run(["problems", "new", "relb_show", "--score-mod", join(zoo, "rel_bias_table.py")])).status).toBe(0);
    const relb = await run(["problems", "show", "relb_show"]);
    expect(relb.stdout).toContain("  - Clipped offsets: the score_mod's clamps of kv_idx - q_idx saturate beyond fixed offsets");
    expect((await run(["problems", "show", "softcap"])).stdout).not.toContain("structure (kforge's analysis");
  }, 240_000);
});

describe("tools/offline/analyze.py on suite problems", () => {
  it("bounded masks with their density, a 2-D grid, a per-block bound of a captured tensor, nothing for softcap", () => {
    const causal = analyze(join(root, "problems/causal"));
    expect(causal[0]).toMatch(/^Bounded mask: interval arithmetic/);
    expect(causal[1]).toMatch(/^Density: the mask keeps about 5\d% of/);
    expect(analyze(join(root, "problems/sliding_window")).join("\n")).toMatch(/keeps about \d+% .* most tiles are empty/);
    expect(analyze(join(root, "problems/natten_2d"))[0]).toMatch(/^2-D token grid: .* `idx \/\/ grid_w` and `idx % grid_w`/);
    expect(analyze(join(root, "problems/document"))[0]).toContain("per-block min and max of `doc_ids`");
    expect(analyze(join(root, "problems/softcap"))).toEqual([]);
  });

  it("says only what holds: gathers that remain, a mask of indices beyond interval arithmetic, density at the problem's shape", async () => {
    const bidi = join(root, "test/offline/fixtures/variants/bidirectional_tables.py");
    expect((await run(["problems", "new", "bidi", "--variant", bidi])).status).toBe(0);
    const [band] = analyze(join(homeDir(), "problems", "bidi"));
    // the where on the offset's sign is decided beyond +-32; the per-key bias is still read there
    expect(band).toContain("where kv_idx - q_idx <= -32 it is `score + bwd[h, 32] + kbias[kv_idx]`");
    expect(band).toContain("where kv_idx - q_idx >= 32 it is `score + fwd[h, 32] + kbias[kv_idx]`");
    expect(band).toContain("need 1 of the score_mod's 3 gathers");
    expect(band).not.toContain("only through its score");
    expect(band).not.toContain("no per-element gather");
    // natten_morton: Morton-order neighbourhoods from bit operations on the indices, no tensor read
    expect((await run(["problems", "new", "morton", "--variant", join(zoo, "natten_morton.py")])).status).toBe(0);
    const morton = analyze(join(homeDir(), "problems", "morton"));
    expect(morton[0]).toMatch(/^Mask beyond interval arithmetic: it reads only the indices/);
    expect(morton.join("\n")).not.toContain("Data-dependent");
    expect(morton[1]).toMatch(/^Density: the mask keeps about [1-5]% of .* at S = 4096/); // bitwise & on integers, not logical
    // a CPU problem's density is at its own (small) benchmark shape
    expect((await run(["problems", "new", "swcpu", "--variant", join(zoo, "sliding_window.py"), "--device", "cpu"])).status).toBe(0);
    expect(analyze(join(homeDir(), "problems", "swcpu")).join("\n")).toMatch(/Density: .* at S = 64 \(the first benchmark shape\)\.$/);
  }, 240_000);

  it("a broken mods.json: analyze.py exits 2 naming it; the scaffold's prompt goes without the section and says why", () => {
    const dir = mkdtempSync(join(tmpdir(), "kforge-structure-bad-"));
    mkdirSync(join(dir, "p"));
    writeFileSync(join(dir, "p", "problem.json"), JSON.stringify({ params: {} }));
    writeFileSync(
      join(dir, "p", "mods.json"),
      JSON.stringify({ version: 1, score: { load: "nowhere", index: [] }, mask: null, scalars: [], tensors: {} }),
    );
    const warn = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(analyzeStructure(torchPython(), join(dir, "p"))).toEqual([]);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/structure analysis of the mods failed .*analyze: .*nowhere/s);
    } finally {
      warn.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
