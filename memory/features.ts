/**
 * Variant features: the tags the memory relates attention variants by, derived from the text of
 * their `score_mod`/`mask_mod` (tanh -> softcap, q/kv comparisons -> mask, ...), their params,
 * shapes and description. Pure text analysis: user code is never executed.
 */
import { Tag } from "../problems/schema.ts";
import { findDefs, statements, tokenizePython, type PyToken } from "./python-tokens.ts";
import { OPERATOR_FAMILIES, type OperatorFamily } from "../problems/kernelbench/families.ts";

/** A KernelBench problem's operator families (problems/kernelbench/families.ts) as features: `op_matmul`, ... */
export type OpFeature = `op_${OperatorFamily}`;
export const OP_FEATURES: readonly OpFeature[] = OPERATOR_FAMILIES.map((f): OpFeature => `op_${f}`);
/** The feature of a KernelBench operator family. */
export function opFeature(family: string): OpFeature | null {
  const f = `op_${family}`;
  return (OP_FEATURES as readonly string[]).includes(f) ? (f as OpFeature) : null;
}

export type Feature = Tag | OpFeature;
export const FEATURES: readonly Feature[] = [...Tag.options, ...OP_FEATURES];

/** How much a shared feature says about relatedness: generic ones (mask, bias) count less. */
export const FEATURE_WEIGHT: Record<Feature, number> = {
  full: 0.5,
  mask: 0.5,
  bias: 0.5,
  causal: 0.75,
  softcap: 1,
  windowed: 1,
  prefix: 1,
  document: 1,
  gqa: 1,
  relpos: 1,
  alibi: 1,
  "2d": 1,
  op_attention: 1,
  op_conv: 1,
  op_matmul: 1,
  op_softmax: 1,
  op_norm: 1,
  op_pooling: 1,
  op_loss: 1,
  op_reduction: 0.5,
  op_activation: 0.75,
  op_elementwise: 0.5,
  op_other: 0.25,
};

/** Features that imply another: every window, prefix, document or 2-D pattern is a mask. */
const IMPLIES: Partial<Record<Feature, Feature[]>> = {
  causal: ["mask"],
  windowed: ["mask"],
  prefix: ["mask"],
  document: ["mask"],
  "2d": ["mask"],
  alibi: ["bias"],
  relpos: ["bias"],
  // Related KernelBench families: a softmax, norm, loss or pool is a reduction; an activation is elementwise; a conv
  // is an implicit GEMM; attention is matmuls around a softmax.
  op_softmax: ["op_reduction"],
  op_norm: ["op_reduction"],
  op_loss: ["op_reduction"],
  op_pooling: ["op_reduction"],
  op_activation: ["op_elementwise"],
  op_conv: ["op_matmul"],
  op_attention: ["op_matmul", "op_softmax", "op_reduction"],
};

/** Everything the memory knows about a variant, before features are derived. */
export interface VariantText {
  description?: string | undefined;
  scoreMod?: string | null | undefined;
  maskMod?: string | null | undefined;
  tags?: readonly string[] | undefined;
  params?: Record<string, unknown> | undefined;
  shapes?: ReadonlyArray<{ H: number; Hkv?: number | undefined }> | undefined;
}

/** Derived features and, for each, the evidence that produced it (shown by `kforge memory search`). */
export interface ExtractedFeatures {
  features: Feature[];
  evidence: string[];
}

type Where = "score_mod" | "mask_mod";
interface Rule {
  feature: Feature;
  where: Where | "any";
  pattern: RegExp;
  why: string;
}

// Patterns run on statements whose tokens are joined by single spaces, with the mod's parameters
// renamed to SCORE, B, H, Q, KV whatever the user called them.
const SOURCE_RULES: Rule[] = [
  { feature: "softcap", where: "any", pattern: /\btanh\b/, why: "tanh caps the scores" },
  {
    feature: "causal",
    where: "any",
    pattern: /\bQ >=? KV\b|\bKV <=? Q\b(?! [-+])|\bQ - KV >=? 0\b|\bKV - Q <=? 0\b|\b0 <=? \(? ?Q - KV\b/,
    why: "q/kv order compared",
  },
  {
    feature: "windowed",
    where: "any",
    pattern:
      /\bQ - KV (?:\) )?<=? (?!0\b)|\bKV - Q (?:\) )?>=? -|\babs \( (?:Q - KV|KV - Q) \)|\bKV >=? Q - |\bQ - [\w.]+ (?:\) )?<=? KV\b|\bQ <=? KV \+ /,
    why: "q-kv distance bounded",
  },
  {
    feature: "windowed",
    where: "mask_mod",
    pattern: /\babs \( [^()]+ - [^()]+ \) <=? |\b\w+ - \w+ (?:\) )?<=? (?!0\b)[\w.]+/,
    why: "a bounded neighbourhood distance",
  },
  { feature: "windowed", where: "any", pattern: /\b\w*(?:window|WINDOW|Window)\w*\b/, why: "a window parameter" },
  {
    feature: "prefix",
    where: "any",
    pattern: /(?<![-+] )\bKV <=? (?!Q\b)[\w.]+(?! [-+([])(?: |$)|\b(?!Q\b)[\w.]+ >=? KV\b/,
    why: "kv compared with a fixed bound",
  },
  { feature: "prefix", where: "any", pattern: /\b\w*(?:prefix|PREFIX|Prefix)\w*\b/, why: "a prefix parameter" },
  {
    feature: "document",
    where: "any",
    pattern: /\b(\w+) \[ Q \] == \1 \[ KV \]|\b(\w+) \[ KV \] == \2 \[ Q \]/,
    why: "same document id at q and kv",
  },
  { feature: "document", where: "any", pattern: /\b\w*(?:doc|DOC|Doc|segment|seq_id)\w* \[ (?:Q|KV) \]/, why: "a per-token document id" },
  { feature: "2d", where: "any", pattern: /\b(?:Q|KV) (?:\/\/|%) /, why: "indices folded onto a 2-D grid" },
  {
    feature: "mask",
    where: "mask_mod",
    pattern: /\b(?:Q|KV)\b(?: [\])])? (?:<=|>=|==|!=|<|>) \S+|\S+ (?:<=|>=|==|!=|<|>) (?:\( )?(?:Q|KV)\b/,
    why: "a comparison of q/kv indices",
  },
  {
    feature: "mask",
    where: "score_mod",
    pattern: /\b(?:where|masked_fill)\b.*\b(?:Q|KV)\b.*(?:-inf|\binf\b)|-inf|- (?:math|torch|float) \. inf\b|float \( -inf \)/,
    why: "scores set to -inf",
  },
  { feature: "alibi", where: "any", pattern: /\b\w*(?:slope|alibi|ALIBI|Alibi|SLOPE)\w* \[ H \]|\balibi\b/i, why: "a per-head slope" },
  {
    feature: "relpos",
    where: "score_mod",
    pattern: /(?:SCORE [+-] |[+-] )\(? ?(?:Q - KV|KV - Q)\b(?! \) \*)/,
    why: "the q-kv distance added to the score",
  },
  { feature: "bias", where: "score_mod", pattern: /\bSCORE [+-] |[+-] SCORE\b/, why: "a term added to the score" },
];

const KEYWORD_RULES: Array<[Feature, RegExp]> = [
  ["softcap", /soft[- ]?cap|\btanh\b|logit cap|capping/i],
  ["windowed", /sliding[- ]window|\bwindow|local attention|\bband(?:ed)?\b/i],
  ["causal", /\bcausal|autoregressive|lower[- ]triangular/i],
  ["prefix", /\bprefix/i],
  ["document", /\bdocument|\bpacked\b|\bjagged\b|\bdoc[-_ ]?ids?\b|sequence packing/i],
  ["alibi", /\balibi\b/i],
  ["relpos", /relative position|\brel[-_ ]?pos\b|\brelpos\b/i],
  ["bias", /\bbias\b/i],
  ["gqa", /\bgqa\b|grouped[- ]query|\bmqa\b|multi[- ]query/i],
  ["2d", /\b2[- ]?d\b|\bnatten\b|neighbou?rhood|\bimage\b|\bspatial\b/i],
  ["full", /\bfull attention\b|\bdense attention\b|\bno mask/i],
  ["mask", /(?<!\bno )\bmask(?:ed|ing|s)?\b/i],
];

const PARAM_RULES: Array<[Feature, RegExp]> = [
  ["softcap", /^(?:cap|soft_?cap|logit_cap)$/i],
  ["windowed", /window/i],
  ["prefix", /prefix/i],
  ["document", /^doc|document|segment/i],
  ["alibi", /slope|alibi/i],
];

/** Tokens with the mod's own parameter names replaced by SCORE, B, H, Q, KV. */
function canonicalTokens(src: string, where: Where): PyToken[] {
  const tokens = tokenizePython(src);
  const canon = where === "score_mod" ? ["SCORE", "B", "H", "Q", "KV"] : ["B", "H", "Q", "KV"];
  const rename = new Map<string, string>([
    ["score", "SCORE"],
    ["q_idx", "Q"],
    ["kv_idx", "KV"],
  ]);
  const defs = findDefs(tokens);
  const def = defs.find((d) => d.params.length === canon.length) ?? defs.find((d) => d.params.length === 5 || d.params.length === 4);
  if (def) {
    const names = def.params.length === 5 ? ["SCORE", "B", "H", "Q", "KV"] : ["B", "H", "Q", "KV"];
    def.params.forEach((p, i) => {
      rename.set(p, names[i]!);
    });
  }
  return tokens.map((t) => {
    if (t.kind === "name") return { kind: t.kind, text: rename.get(t.text) ?? t.text };
    if (t.kind === "string" && /^[+-]?inf$/i.test(t.text.trim())) return { kind: "name", text: t.text.trim().toLowerCase() };
    return t;
  });
}

/** Features read from the structure of a score_mod or mask_mod source. */
export function featuresFromSource(src: string, where: Where): ExtractedFeatures {
  const found = new Map<Feature, string>();
  for (const stmt of statements(canonicalTokens(src, where))) {
    const text = stmt
      .filter((t) => t.kind !== "string")
      .map((t) => t.text)
      .join(" ")
      .replace(/- inf\b/g, "-inf");
    if (/^(?:def|import|from|@)\b/.test(text)) continue; // a signature or an import says nothing about the variant
    for (const r of SOURCE_RULES) {
      if (found.has(r.feature) || (r.where !== "any" && r.where !== where)) continue;
      const m = r.pattern.exec(text);
      if (m) found.set(r.feature, `${r.feature}: ${r.why} (${where}: \`${m[0].trim()}\`)`);
    }
  }
  if (where === "mask_mod" && found.size === 0 && /\breturn\s+True\b/.test(src)) found.set("full", "full: mask_mod keeps everything");
  return { features: [...found.keys()], evidence: [...found.values()] };
}

/** Features named by words in a description ("softcap with a sliding window"). */
export function featuresFromText(text: string): ExtractedFeatures {
  const hits = KEYWORD_RULES.filter(([, re]) => re.test(text));
  return {
    features: hits.map(([f]) => f),
    evidence: hits.map(([f, re]) => `${f}: description says "${re.exec(text)![0]}"`),
  };
}

/** All features of a variant: explicit tags, source structure, params, shapes and description, closed under implication. */
export function extractFeatures(v: VariantText): ExtractedFeatures {
  const evidence: string[] = [];
  const set = new Set<Feature>();
  const add = (f: Feature, why: string) => {
    if (set.has(f)) return;
    set.add(f);
    evidence.push(why);
  };
  for (const t of v.tags ?? []) if ((FEATURES as readonly string[]).includes(t)) add(t as Feature, `${t}: tagged`);
  // A KernelBench operator is its families: attention words in its text ("2D", "bias", "mask") mean something else there.
  const operator = [...set].some((f) => f.startsWith("op_"));
  const parts: ExtractedFeatures[] = [];
  if (v.scoreMod && !operator) parts.push(featuresFromSource(v.scoreMod, "score_mod"));
  if (v.maskMod && !operator) parts.push(featuresFromSource(v.maskMod, "mask_mod"));
  if (v.description && !operator) parts.push(featuresFromText(v.description));
  for (const p of parts) {
    p.features.forEach((f, i) => {
      add(f, p.evidence[i]!);
    });
  }
  for (const [key, value] of Object.entries(operator ? {} : (v.params ?? {}))) {
    for (const [f, re] of PARAM_RULES) if (re.test(key) || (typeof value === "string" && re.test(value))) add(f, `${f}: param ${key}`);
  }
  const gqaShape = v.shapes?.find((s) => s.Hkv !== undefined && s.Hkv < s.H);
  if (gqaShape) add("gqa", `gqa: shapes have Hkv ${gqaShape.Hkv} < H ${gqaShape.H}`);
  for (const f of [...set]) for (const g of IMPLIES[f] ?? []) add(g, `${g}: implied by ${f}`);
  return { features: FEATURES.filter((f) => set.has(f)), evidence };
}

/** Weighted Jaccard similarity of two feature sets (1 = same variant family). */
export function featureSimilarity(a: ReadonlySet<Feature>, b: ReadonlySet<Feature>): number {
  let inter = 0;
  let union = 0;
  for (const f of FEATURES) {
    const w = FEATURE_WEIGHT[f];
    if (a.has(f) && b.has(f)) inter += w;
    if (a.has(f) || b.has(f)) union += w;
  }
  return union === 0 ? 0 : inter / union;
}

/** The summed weight of features (for coverage fractions). */
export function featureWeight(fs: Iterable<Feature>): number {
  let w = 0;
  for (const f of fs) w += FEATURE_WEIGHT[f];
  return w;
}
