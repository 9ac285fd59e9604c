import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { familyWin, FAMILIES, rng } from "../../bench/_shared/synthetic-wins.ts";
import { extractFeatures } from "../../memory/features.ts";
import { formatExemplarsForPrompt, modSources, queryFromProblem, seedExemplars } from "../../memory/seed.ts";
import { loadAllProblems, loadProblem } from "../../problems/load.ts";
import { H100, openStore, win } from "./helpers.ts";

/** A new combined variant written the way `kforge problems new` lays out a problem folder. */
function writeCombinedProblem(root: string): string {
  const dir = join(root, "softcap_window");
  mkdirSync(dir, { recursive: true });
  const softcap = JSON.parse(readFileSync(join(loadProblem("softcap").dir, "problem.json"), "utf8"));
  writeFileSync(
    join(dir, "problem.json"),
    JSON.stringify({ ...softcap, name: "softcap_window", description: "Gemma-style attention", params: { cap: 50, window: 4096 }, tags: [] }),
  );
  writeFileSync(
    join(dir, "reference.py"),
    [
      "import torch",
      "",
      "def make_score_mod(cap, **_):",
      "    def capped(score, b, h, q_idx, kv_idx):",
      "        return cap * torch.tanh(score / cap)",
      "    return capped",
      "",
      "def make_mask_mod(window, **_):",
      "    def local(b, h, q_idx, kv_idx):",
      "        return (q_idx >= kv_idx) & (q_idx - kv_idx < window)",
      "    return local",
      "",
      "def reference(q, k, v, *, scale, cap, window):",
      "    raise NotImplementedError",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "prompt.md"), "Write a soft-capped sliding-window attention kernel.\n");
  return dir;
}

describe("problem queries", () => {
  it("reads score_mod/mask_mod out of the suite's reference.py factories, as text", () => {
    const { scoreMod, maskMod } = modSources(loadProblem("softcap").referenceSource);
    expect(scoreMod).toContain("cap * torch.tanh(score / cap)");
    expect(maskMod).toBeNull(); // make_mask_mod returns None
  });

  it("for every suite problem, the structure of its sources yields the problem's own tags", () => {
    const problems = loadAllProblems();
    expect(problems.length).toBeGreaterThanOrEqual(12);
    for (const p of problems) {
      const q = queryFromProblem(p);
      const fromSource = new Set(extractFeatures({ scoreMod: q.scoreMod, maskMod: q.maskMod }).features);
      const expected = p.spec.tags.filter((t) => t !== "full" && t !== "gqa");
      expect([p.spec.name, expected.filter((t) => !fromSource.has(t))]).toEqual([p.spec.name, []]);
    }
  });
});

describe("seeding a search from memory", () => {
  it("seeds a new combined variant with the best softcap and sliding-window kernels, and records the seeding", () => {
    const { db, store, path } = openStore();
    const r = rng(3);
    const ids: Record<string, number> = {};
    FAMILIES.filter((f) => !["softcap_window", "alibi_document"].includes(f.problem)).forEach((f, i) => {
      ids[f.problem] = store.remember(familyWin(f, r, i, { speedup: f.baseSpeedup + 0.5, gpu: H100 })).id;
      store.remember(familyWin(f, r, 100 + i, { speedup: f.baseSpeedup, gpu: H100 }));
    });
    store.remember(familyWin(FAMILIES.find((f) => f.problem === "sliding_window")!, r, 500, { speedup: 1.4, gpu: H100 }));
    const problem = loadProblem(writeCombinedProblem(dirname(path)));

    const exemplars = seedExemplars(db, queryFromProblem(problem), { k: 3, gpu: H100 });
    expect(exemplars.map((e) => e.rank)).toEqual([1, 2, 3]);
    const firstTwo = exemplars.slice(0, 2).map((e) => e.win.problem);
    expect(firstTwo).toContain("sliding_window");
    expect(firstTwo.some((p) => p === "softcap" || p === "softcap_causal")).toBe(true);
    for (const e of exemplars.slice(0, 2)) expect(e.win.id).toBe(ids[e.win.problem]);
    expect(exemplars[0]!.queryFeatures).toEqual(expect.arrayContaining(["softcap", "windowed", "causal"]));

    const md = formatExemplarsForPrompt(exemplars);
    for (const e of exemplars) {
      expect(md).toContain(`memory #${e.win.id}`);
      expect(md).toContain(`${e.win.speedup.toFixed(2)}x over the baseline`);
      expect(md).toContain(e.win.kernelSource.trimEnd());
      for (const idea of e.win.ideas) expect(md).toContain(`  - ${idea}`);
    }
    expect(md).toMatch(/Why it was picked: total \d\.\d{3}; similarity/);

    store.recordSeeding(
      "run-42",
      "root",
      exemplars.map((e) => e.win.id),
    );
    expect(store.seedings("run-42", "root").map((s) => s.winId)).toEqual(exemplars.map((e) => e.win.id));
  });

  it("formats an empty memory and cuts long kernels in prompts", () => {
    expect(formatExemplarsForPrompt([])).toMatch(/No verified kernels/);
    const { db, store } = openStore();
    store.remember(win("long", { kernelSource: `# long\n${"x = 1\n".repeat(5000)}` }));
    const md = formatExemplarsForPrompt(seedExemplars(db, { description: "softcap" }), { maxSourceChars: 500 });
    expect(md).toMatch(/# \.\.\. \(\d+ more characters\)/);
    expect(md.length).toBeLessThan(3000);
  });
});
