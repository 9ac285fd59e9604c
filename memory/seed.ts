/**
 * Seeding a search from the memory of wins. How the graph uses it:
 *
 * ```ts
 * const exemplars = seedExemplars(db, queryFromProblem(problem), { k: 3, gpu: gpuName });
 * const text = formatExemplarsForPrompt(exemplars);           // into the planner's and coder's prompts
 * new WinsStore(db).recordSeeding(runId, rootNodeId, exemplars.map((e) => e.win.id));
 * // optional: start a child of the root from exemplars[0].win.kernelSource, adapted to the new variant
 * ```
 *
 * Call it once when a run starts (the root node), and again for any node whose prompt shows
 * exemplars; record each node's seeding so the trace says which memory entries seeded which node.
 */
import type { LoadedProblem } from "../problems/schema.ts";
import type { DB } from "./db.ts";
import { defBlocks } from "./python-tokens.ts";
import { explainScore, retrieveWins, type RetrievalQuery, type ScoreBreakdown } from "./retrieve.ts";
import type { Win } from "./win-schema.ts";
import { WinsStore } from "./wins.ts";
import { PROMPT_KERNEL_CHARS } from "../core/limits.ts";
import { kernelBenchOf } from "../problems/kernelbench/kind.ts";
import { opFeature, type OpFeature } from "./features.ts";

/** A ranked win with everything a prompt needs: kernel source, critic's ideas, numbers, and why it was picked. */
export interface Exemplar {
  rank: number;
  win: Win;
  score: ScoreBreakdown;
  /** The query's features the retrieval worked from (same for every exemplar of one call). */
  queryFeatures: string[];
}

/** Default exemplars per prompt: enough to combine two families, few enough to keep prompts short. */
export const DEFAULT_EXEMPLARS = 3;

// One store per connection, so repeated seeding does not prepare its statements again.
const stores = new WeakMap<DB, WinsStore>();

/** The k most relevant wins for a problem, best first, kernel sources included. */
export function seedExemplars(db: DB, problem: RetrievalQuery, opts: { k?: number; gpu?: string } = {}): Exemplar[] {
  let store = stores.get(db);
  if (!store) {
    store = new WinsStore(db).setup();
    stores.set(db, store);
  }
  const r = retrieveWins(store, { ...problem, gpu: opts.gpu ?? problem.gpu }, { k: opts.k ?? DEFAULT_EXEMPLARS });
  return r.results.map((x) => ({ rank: x.rank, win: store.get(x.win.id)!, score: x.score, queryFeatures: r.features }));
}

/** The retrieval query of a problem: its name, description, tags, params, shapes and the mods in reference.py; a
 * KernelBench problem's are its name, description and operator families. */
export function queryFromProblem(p: LoadedProblem): RetrievalQuery {
  const kb = kernelBenchOf(p);
  if (kb)
    return {
      problem: kb.spec.name,
      description: kb.spec.description,
      tags: familyTags(kb.spec.families),
      params: {},
      shapes: [],
      scoreMod: null,
      maskMod: null,
    };
  const { scoreMod, maskMod } = modSources(p.referenceSource);
  return {
    problem: p.spec.name,
    description: p.spec.description,
    tags: p.spec.tags,
    params: p.spec.params,
    shapes: [...p.spec.shapes.benchmark, ...p.spec.shapes.correctness],
    scoreMod,
    maskMod,
  };
}

/** A KernelBench problem's families as memory tags (`op_matmul`, ...). */
export function familyTags(families: readonly string[]): OpFeature[] {
  return families.map(opFeature).filter((f): f is OpFeature => f !== null);
}

/**
 * The score_mod and mask_mod of a Python file, as text (nothing is executed): the suite's
 * `make_score_mod`/`make_mask_mod` factories (null when a factory defines no inner function, i.e.
 * returns None), else functions named `score_mod`/`mask_mod`.
 */
export function modSources(src: string): { scoreMod: string | null; maskMod: string | null } {
  const blocks = defBlocks(src);
  const find = (factory: string, direct: string): string | null => {
    const f = blocks.get(factory);
    if (f !== undefined) return /\n\s+def\s/.test(f) ? f : null;
    return blocks.get(direct) ?? null;
  };
  return { scoreMod: find("make_score_mod", "score_mod"), maskMod: find("make_mask_mod", "mask_mod") };
}

/** Markdown for planner/coder prompts: per exemplar, the variant, numbers, the critic's ideas and the kernel. */
export function formatExemplarsForPrompt(exemplars: readonly Exemplar[], opts: { maxSourceChars?: number } = {}): string {
  if (exemplars.length === 0) return "No verified kernels of related variants are in memory yet: start from the problem's contract.";
  const max = opts.maxSourceChars ?? PROMPT_KERNEL_CHARS;
  const out = [
    `## Verified kernels of related variants (from memory)`,
    "",
    `These kernels passed the verifier on earlier problems. Reuse what carries over to this variant ` +
      `(features: ${exemplars[0]!.queryFeatures.join(", ") || "none detected"}); adapt what differs.`,
  ];
  for (const e of exemplars) {
    const w = e.win;
    const shapes = w.shapes.map((s) => `${s.B}x${s.H}${s.Hkv && s.Hkv !== s.H ? `(kv ${s.Hkv})` : ""}x${s.S}x${s.D}`).join(", ");
    const source =
      w.kernelSource.length > max ? `${w.kernelSource.slice(0, max)}\n# ... (${w.kernelSource.length - max} more characters)` : w.kernelSource;
    out.push(
      "",
      `### ${e.rank}. \`${w.problem}\` — ${w.speedup.toFixed(2)}x over the baseline${w.tflops !== null ? `, ${w.tflops.toFixed(0)} TFLOP/s` : ""} on ${w.gpu} (memory #${w.id})`,
      "",
      w.description ? `${w.description}` : "",
      `- Features: ${w.features.join(", ") || "none"}; shared with this variant: ${e.score.matched.join(", ") || "none"}; missing here: ${e.score.missing.join(", ") || "none"}.`,
      ...(shapes ? [`- Measured on (B x H x S x D): ${shapes}.`] : []),
      ...(w.scoreMod ? ["- Its score_mod:", "```python", w.scoreMod.trimEnd(), "```"] : []),
      ...(w.maskMod ? ["- Its mask_mod:", "```python", w.maskMod.trimEnd(), "```"] : []),
      ...(w.ideas.length ? ["- Key ideas (from the critic):", ...w.ideas.map((i) => `  - ${i}`)] : []),
      `- Why it was picked: ${explainScore(e.score)}.`,
      "",
      "```python",
      source.trimEnd(),
      "```",
    );
  }
  return out.filter((l, i, a) => !(l === "" && a[i - 1] === "")).join("\n");
}
