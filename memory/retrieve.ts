/**
 * Ranks remembered wins for a new variant: feature similarity (weighted Jaccard over tags and
 * structure read from score_mod/mask_mod), coverage of the variant's features not yet covered by
 * higher-ranked wins (so softcap + sliding window brings back a softcap and a window kernel),
 * FTS5 bm25 text relevance, speedup and same-GPU preference. Every score is explained.
 */
import { codeTerms, matchQuery } from "./fts-text.ts";
import { extractFeatures, FEATURES, featureSimilarity, featureWeight, type Feature, type VariantText } from "./features.ts";
import type { WinSummary } from "./win-schema.ts";
import type { WinKey, WinsStore } from "./wins.ts";

/** A variant to find wins for: what a problem or a user's new score_mod/mask_mod says about it. */
export interface RetrievalQuery extends VariantText {
  problem?: string | undefined;
  /** The GPU the search runs on: wins measured on it rank higher. */
  gpu?: string | undefined;
}

/** How much each component counts in the total (each component is in [0, 1]). */
export const WEIGHTS = { similarity: 0.35, coverage: 0.25, text: 0.12, speedup: 0.18, gpu: 0.1 } as const;
/** Subtracted from a win whose problem already has a win ranked above it: prompts gain more from another family. */
export const REPEAT_PENALTY = 0.25;
/** A speedup this large (vs the baseline) earns the full speedup score; log scale below it. */
export const SPEEDUP_SATURATION = 4;
/** Candidate (feature set, GPU) groups taken overall and per query feature, and wins read per group. */
const GROUPS_OVERALL = 12;
const GROUPS_PER_FEATURE = 3;
const WINS_PER_GROUP = 6;
/** Problems taken from the full-text match, and wins read for each one not already a candidate. */
const TEXT_PROBLEMS = 20;
const WINS_PER_TEXT_PROBLEM = 4;

/** Why a win ranks where it does: the weighted components add up to `total`. */
export interface ScoreBreakdown {
  total: number;
  /** Weighted Jaccard of the query's and the win's features. */
  similarity: number;
  /** Share of the query's feature weight this win adds beyond the wins ranked above it. */
  coverage: number;
  /** bm25 of the win's problem document relative to the best-matching problem (0 when it did not match). */
  text: number;
  speedup: number;
  /** 1 same GPU, 0.5 same family (H100 vs H100 NVL), 0 otherwise or unknown. */
  gpu: number;
  matched: Feature[];
  /** Query features this win does not have. */
  missing: Feature[];
  /** Features of the win the query does not have. */
  extra: Feature[];
  /** Query features first brought by this win. */
  covers: Feature[];
  /** 1 when a win of the same problem ranks above (REPEAT_PENALTY applies), else 0. */
  repeat: number;
}

export interface RankedWin {
  rank: number;
  win: WinSummary;
  score: ScoreBreakdown;
}

export interface Retrieval {
  /** The query's derived features and the evidence for each. */
  features: Feature[];
  evidence: string[];
  /** The FTS5 expression used (null when the query had no distinctive words). */
  match: string | null;
  candidates: number;
  results: RankedWin[];
}

interface Candidate {
  id: number;
  problem: string;
  features: Set<Feature>;
  similarity: number;
  gpu: number;
  speedup: number;
}

/** The k wins most worth showing the planner for this variant, best first, with score breakdowns. */
export function retrieveWins(store: WinsStore, query: RetrievalQuery, opts: { k?: number } = {}): Retrieval {
  const k = opts.k ?? 5;
  const q = extractFeatures(query);
  const qset = new Set(q.features);
  const qWeight = featureWeight(qset);
  const featureCache = new Map<string, { set: Set<Feature>; similarity: number; coverage: number }>();
  const parse = (fstr: string) => {
    let f = featureCache.get(fstr);
    if (!f) {
      const set = new Set((fstr ? fstr.split(" ") : []) as Feature[]);
      f = { set, similarity: featureSimilarity(qset, set), coverage: qWeight ? featureWeight(intersect(qset, set)) / qWeight : 0 };
      featureCache.set(fstr, f);
    }
    return f;
  };
  const gpuCache = new Map<string, number>();
  const gpuScore = (gpu: string) => gpuCache.get(gpu) ?? gpuCache.set(gpu, gpuMatch(query.gpu, gpu)).get(gpu)!;

  // 1. Feature side: rank (feature set, GPU) groups by what their best win could score, read their fastest wins.
  const groups = store.featureGroups().map(([fstr, gpu, , best]) => {
    const f = parse(fstr);
    const prelim =
      WEIGHTS.similarity * f.similarity + WEIGHTS.coverage * f.coverage + WEIGHTS.speedup * speedupScore(best) + WEIGHTS.gpu * gpuScore(gpu);
    return { fstr, gpu, set: f.set, prelim };
  });
  groups.sort((a, b) => b.prelim - a.prelim);
  const chosen = new Set(groups.slice(0, GROUPS_OVERALL));
  for (const feat of qset)
    groups
      .filter((g) => g.set.has(feat))
      .slice(0, GROUPS_PER_FEATURE)
      .forEach((g) => {
        chosen.add(g);
      });
  const pool = new Map<number, Candidate>();
  // KernelBench operators and attention variants never seed each other: their kernels share no contract.
  const operatorQuery = q.features.some(isOperator);
  const addWin = (w: WinKey) => {
    const f = parse(w.features);
    if ([...f.set].some(isOperator) !== operatorQuery) return;
    if (operatorQuery && f.similarity === 0) return; // a KernelBench problem is seeded only from related families
    pool.set(w.id, { id: w.id, problem: w.problem, features: f.set, similarity: f.similarity, gpu: gpuScore(w.gpu), speedup: w.speedup });
  };
  for (const g of chosen) store.topOfGroup(g.fstr, g.gpu, WINS_PER_GROUP).forEach(addWin);

  // 2. Text side: bm25 per problem document; problems that match but have no candidate yet bring their fastest wins.
  const match = matchQuery([
    query.problem ?? "",
    query.description ?? "",
    ...q.features.filter((f) => !GENERIC.has(f)),
    ...codeTerms(query.scoreMod),
    ...codeTerms(query.maskMod),
  ]);
  const text = new Map<string, number>();
  if (match) {
    const hits = store.textSearch(match, TEXT_PROBLEMS);
    const best = hits[0]?.bm25 ?? -1; // bm25 is negative: lower is better
    const present = new Set([...pool.values()].map((c) => c.problem));
    for (const h of hits) {
      text.set(h.problem, h.bm25 / best);
      if (!present.has(h.problem)) store.topOfProblem(h.problem, WINS_PER_TEXT_PROBLEM).forEach(addWin);
    }
  }

  const picked = greedy(k, [...pool.values()], qset, qWeight, text);
  const summaries = new Map(store.summaries(picked.map((r) => r.id)).map((s) => [s.id, s]));
  return {
    features: q.features,
    evidence: q.evidence,
    match,
    candidates: pool.size,
    results: picked.map((r, i) => ({ rank: i + 1, win: summaries.get(r.id)!, score: r.score })),
  };
}

function isOperator(f: Feature): boolean {
  return f.startsWith("op_");
}

/** Features too common to be worth a full-text term (feature similarity already counts them). */
const GENERIC = new Set<Feature>(["mask", "bias", "full"]);

/** Picks k wins one at a time; coverage only counts query features no earlier pick has. */
function greedy(k: number, pool: Candidate[], qset: Set<Feature>, qWeight: number, text: Map<string, number>) {
  const covered = new Set<Feature>();
  const problems = new Set<string>();
  const picked: Array<{ id: number; score: ScoreBreakdown }> = [];
  const left = new Set(pool);
  while (picked.length < k && left.size > 0) {
    let best: { c: Candidate; score: ScoreBreakdown } | undefined;
    for (const c of left) {
      const covers = [...qset].filter((f) => c.features.has(f) && !covered.has(f));
      const s = {
        similarity: c.similarity,
        coverage: qWeight ? featureWeight(covers) / qWeight : 0,
        text: text.get(c.problem) ?? 0,
        speedup: speedupScore(c.speedup),
        gpu: c.gpu,
      };
      const repeat = problems.has(c.problem) ? 1 : 0;
      const total =
        (Object.keys(WEIGHTS) as Array<keyof typeof WEIGHTS>).reduce((sum, key) => sum + WEIGHTS[key] * s[key], 0) - REPEAT_PENALTY * repeat;
      if (!best || total > best.score.total + 1e-12 || (Math.abs(total - best.score.total) <= 1e-12 && c.id < best.c.id)) {
        best = {
          c,
          score: {
            total,
            ...s,
            covers,
            repeat,
            matched: FEATURES.filter((f) => qset.has(f) && c.features.has(f)),
            missing: FEATURES.filter((f) => qset.has(f) && !c.features.has(f)),
            extra: FEATURES.filter((f) => !qset.has(f) && c.features.has(f)),
          },
        };
      }
    }
    left.delete(best!.c);
    problems.add(best!.c.problem);
    for (const f of best!.score.covers) covered.add(f);
    picked.push({ id: best!.c.id, score: best!.score });
  }
  return picked;
}

/** Log-scaled speedup in [0, 1]: 1x gives 0, SPEEDUP_SATURATION and beyond give 1. */
export function speedupScore(speedup: number): number {
  return Math.min(1, Math.max(0, Math.log(speedup) / Math.log(SPEEDUP_SATURATION)));
}

/** 1 for the same GPU, 0.5 for the same family (the H100 in "NVIDIA H100 80GB HBM3" and "H100 NVL"), else 0. */
export function gpuMatch(want: string | undefined, have: string): number {
  if (!want) return 0;
  const norm = (s: string) => s.toLowerCase().replace(/\s+/g, " ").trim();
  if (norm(want) === norm(have)) return 1;
  const family = (s: string) => /\b([a-z]{1,3}\d{2,4}[a-z]?)\b/.exec(norm(s).replace(/^nvidia /, ""))?.[1];
  const f = family(want);
  return f !== undefined && f === family(have) ? 0.5 : 0;
}

/** A one-line explanation of a ranked win (for `kforge memory search` and prompts). */
export function explainScore(s: ScoreBreakdown): string {
  const parts = [
    `total ${s.total.toFixed(3)}`,
    `similarity ${s.similarity.toFixed(2)}${s.matched.length ? ` (shares ${s.matched.join(", ")})` : ""}`,
    `coverage ${s.coverage.toFixed(2)}${s.covers.length ? ` (brings ${s.covers.join(", ")})` : ""}`,
    `text ${s.text.toFixed(2)}`,
    `speedup ${s.speedup.toFixed(2)}`,
    `gpu ${s.gpu}`,
  ];
  if (s.repeat) parts.push(`repeat of a problem ranked above (-${REPEAT_PENALTY})`);
  if (s.missing.length) parts.push(`lacks ${s.missing.join(", ")}`);
  return parts.join("; ");
}

function intersect<T>(a: Set<T>, b: Set<T>): T[] {
  return [...a].filter((x) => b.has(x));
}
