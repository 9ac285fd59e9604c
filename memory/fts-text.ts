/**
 * The text the full-text index sees for a win, and the FTS5 query built from a new variant.
 * Both sides drop words that every attention variant shares (score, q_idx, torch, return ...),
 * so bm25 ranks on what distinguishes variants.
 */
import { tokenizePython } from "./python-tokens.ts";

/** Words too common in attention code or prose to tell variants apart. */
const STOP = new Set([
  // Python
  "def",
  "return",
  "import",
  "from",
  "as",
  "if",
  "else",
  "elif",
  "and",
  "or",
  "not",
  "in",
  "is",
  "none",
  "true",
  "false",
  "lambda",
  "for",
  "while",
  "with",
  "self",
  "float",
  "int",
  "abs",
  "min",
  "max",
  // every mod has these
  "score",
  "b",
  "h",
  "q",
  "kv",
  "idx",
  "q_idx",
  "kv_idx",
  "batch",
  "head",
  "torch",
  "math",
  "tl",
  "triton",
  "mod",
  "score_mod",
  "mask_mod",
  "where",
  "inf",
  "attention",
  "attn",
  "kernel",
  "variant",
  // prose
  "a",
  "an",
  "the",
  "of",
  "to",
  "on",
  "at",
  "by",
  "it",
  "its",
  "this",
  "that",
  "be",
  "are",
  "was",
  "new",
  "using",
  "use",
  "plus",
  "also",
  "into",
  "than",
  "then",
  "same",
  "like",
]);
const MAX_QUERY_TERMS = 32;

/** Distinct lower-case words of text, without stop words (FTS5's porter tokenizer stems them later). */
export function words(text: string): string[] {
  const out = new Set<string>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (w.length < 2 || STOP.has(w) || /^\d+$/.test(w)) continue;
    out.add(w);
  }
  return [...out];
}

/** The distinctive names of a Python source (identifiers and their `_`-separated parts), never executed. */
export function codeTerms(src: string | null | undefined): string[] {
  if (!src) return [];
  const names = tokenizePython(src)
    .filter((t) => t.kind === "name")
    .map((t) => t.text);
  return words(names.join(" ").replace(/_/g, " "));
}

/**
 * The indexed text of one variant (problem): the union of its wins' descriptions, features,
 * critic ideas and code words, one line per distinct entry. Text relevance is a property of the
 * variant, so wins of one problem are told apart by speed and GPU, not by wording.
 */
export interface FtsDocument {
  problem: string;
  description: string;
  tags: string;
  ideas: string;
  code: string;
}

/** Column order of wins_fts and the bm25 weight of each (a problem or description word says most). */
export const WINS_FTS_COLUMNS = ["problem", "description", "tags", "ideas", "code"] as const;
export const WINS_FTS_WEIGHTS = [3, 2, 2, 1, 1] as const;
/** Distinct lines kept per column of a problem's document (the newest win's lines win). */
export const MAX_DOC_LINES = 400;

/** The indexed text one win contributes to its problem's document. */
export function ftsDocument(w: {
  problem: string;
  description: string;
  features: readonly string[];
  ideas: readonly string[];
  scoreMod: string | null;
  maskMod: string | null;
}): FtsDocument {
  return {
    problem: w.problem.replace(/_/g, " "),
    description: w.description,
    tags: w.features.join("\n"),
    ideas: w.ideas.join("\n"),
    code: [...new Set([...codeTerms(w.scoreMod), ...codeTerms(w.maskMod)])].join("\n"),
  };
}

/** Adds a win's text to its problem's document: per column, the union of distinct lines, capped. */
export function mergeDocs(old: FtsDocument | undefined, add: FtsDocument): FtsDocument {
  if (!old) return add;
  const merge = (a: string, b: string) => {
    const lines = [...new Set([...a.split("\n"), ...b.split("\n")].filter((l) => l.trim() !== ""))];
    return lines.slice(-MAX_DOC_LINES).join("\n");
  };
  return {
    problem: add.problem,
    description: merge(old.description, add.description),
    tags: merge(old.tags, add.tags),
    ideas: merge(old.ideas, add.ideas),
    code: merge(old.code, add.code),
  };
}

/** An FTS5 MATCH expression OR-ing the distinctive terms (quoted, so no user text is FTS syntax); null if none. */
export function matchQuery(terms: Iterable<string>): string | null {
  const clean = [...new Set([...terms].flatMap((t) => words(t)))].slice(0, MAX_QUERY_TERMS);
  return clean.length ? clean.map((t) => `"${t}"`).join(" OR ") : null;
}
