import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extractFeatures, featureSimilarity, featuresFromSource } from "../../memory/features.ts";
import { codeTerms, matchQuery } from "../../memory/fts-text.ts";
import { defBlocks, findDefs, tokenizePython } from "../../memory/python-tokens.ts";
import { modSources } from "../../memory/seed.ts";

const SCORE = (body: string, args = "score, b, h, q_idx, kv_idx") => `def score_mod(${args}):\n    ${body}\n`;
const MASK = (body: string, args = "b, h, q_idx, kv_idx") => `def mask_mod(${args}):\n    ${body}\n`;

describe("python tokenizer", () => {
  it("drops comments and keeps strings apart from code", () => {
    const toks = tokenizePython("x = \"tanh # not a comment\"  # tanh here is a comment\ny = f'''multi\nline'''\n");
    expect(toks.filter((t) => t.kind === "name").map((t) => t.text)).toEqual(["x", "y"]);
    expect(toks.filter((t) => t.kind === "string").map((t) => t.text)).toEqual(["tanh # not a comment", "multi\nline"]);
  });

  it("treats newlines inside brackets as part of one statement and finds def parameters", () => {
    const toks = tokenizePython("def f(score: Tensor,\n      b, h=0, *, q, kv) -> Tensor:\n    return score\n");
    expect(findDefs(toks)).toEqual([{ name: "f", params: ["score", "b", "h", "q", "kv"] }]);
    expect(toks.filter((t) => t.kind === "newline")).toHaveLength(2);
  });

  it("cuts def blocks out of a file by indentation", () => {
    const src =
      "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return score * 2\n\n\ndef mask_mod(b, h,\n             q_idx, kv_idx):\n    return q_idx >= kv_idx\n\ndef reference(q, k, v):\n    pass\n";
    const blocks = defBlocks(src);
    expect(blocks.get("score_mod")).toBe("def score_mod(score, b, h, q_idx, kv_idx):\n    return score * 2");
    expect(blocks.get("mask_mod")).toContain("return q_idx >= kv_idx");
    expect(blocks.get("mask_mod")).not.toContain("reference");
    expect(modSources(src).scoreMod).toContain("score * 2");
  });
});

describe("features from score_mod / mask_mod source", () => {
  const cases: Array<[string, { scoreMod?: string; maskMod?: string }, string[]]> = [
    ["softcap", { scoreMod: SCORE("return cap * torch.tanh(score / cap)") }, ["softcap"]],
    ["causal", { maskMod: MASK("return q_idx >= kv_idx") }, ["causal", "mask"]],
    ["sliding window", { maskMod: MASK("return (q_idx >= kv_idx) & (q_idx - kv_idx < 1024)") }, ["causal", "mask", "windowed"]],
    ["local window (abs)", { maskMod: MASK("return abs(q_idx - kv_idx) <= 256") }, ["mask", "windowed"]],
    ["prefix lm", { maskMod: MASK("return (kv_idx < prefix_len) | (q_idx >= kv_idx)") }, ["causal", "mask", "prefix"]],
    ["document", { maskMod: MASK("return (doc_ids[q_idx] == doc_ids[kv_idx]) & (q_idx >= kv_idx)") }, ["causal", "mask", "document"]],
    ["alibi", { scoreMod: SCORE("return score + slopes[h] * (kv_idx - q_idx)") }, ["bias", "alibi"]],
    ["relpos", { scoreMod: SCORE("return score + (q_idx - kv_idx)") }, ["bias", "relpos"]],
    ["natten 2-d", { maskMod: MASK("return (abs(q_idx // W - kv_idx // W) <= K) & (abs(q_idx % W - kv_idx % W) <= K)") }, ["mask", "windowed", "2d"]],
    ["renamed parameters", { maskMod: MASK("return (q >= k) & (q - k < WINDOW)", "batch, head, q, k") }, ["causal", "mask", "windowed"]],
    ["masking inside a score_mod", { scoreMod: SCORE('return torch.where(q_idx >= kv_idx, score, float("-inf"))') }, ["causal", "mask"]],
    ["identity mask", { maskMod: MASK("return True") }, ["full"]],
  ];
  for (const [name, src, expected] of cases) {
    it(name, () => {
      expect(new Set(extractFeatures(src).features)).toEqual(new Set(expected));
    });
  }

  it("ignores words in comments and docstrings", () => {
    const src = SCORE('"""tanh, windows and documents are mentioned here only"""\n    # q_idx >= kv_idx\n    return score');
    expect(extractFeatures({ scoreMod: src }).features).toEqual([]);
  });

  it("explains each feature with the code that produced it", () => {
    const { evidence } = featuresFromSource(MASK("return q_idx - kv_idx < 1024"), "mask_mod");
    expect(evidence.join("\n")).toMatch(/windowed: .*`Q - KV <`/);
  });

  it("reads sources as text and never executes them", () => {
    const marker = join(mkdtempSync(join(tmpdir(), "kforge-noexec-")), "executed");
    const hostile =
      `import os\nopen(${JSON.stringify(marker)}, "w").write("x")\nos.system("touch ${marker}")\n` + SCORE("return cap * tanh(score / cap)");
    expect(extractFeatures({ scoreMod: hostile }).features).toEqual(["softcap"]);
    expect(codeTerms(hostile)).toContain("tanh");
    expect(existsSync(marker)).toBe(false);
  });
});

describe("features from description, params and shapes", () => {
  it("reads descriptions, params and GQA shapes, closing under implication", () => {
    const f = extractFeatures({
      description: "ALiBi inside packed documents",
      params: { window: 512 },
      shapes: [{ H: 32, Hkv: 8 }],
    }).features;
    expect(new Set(f)).toEqual(new Set(["alibi", "bias", "document", "mask", "windowed", "gqa"]));
  });

  it("similarity is 1 for equal sets, 0 for disjoint ones, and weights generic features less", () => {
    expect(featureSimilarity(new Set(["softcap"]), new Set(["softcap"]))).toBe(1);
    expect(featureSimilarity(new Set(["softcap"]), new Set(["alibi"]))).toBe(0);
    const sharesWindow = featureSimilarity(new Set(["windowed", "mask"]), new Set(["windowed", "mask", "causal"]));
    const sharesMask = featureSimilarity(new Set(["windowed", "mask"]), new Set(["prefix", "mask"]));
    expect(sharesWindow).toBeGreaterThan(sharesMask);
  });
});

describe("full-text query", () => {
  it("quotes terms so user text is never FTS5 syntax, and drops stop words", () => {
    expect(matchQuery(['softcap AND "window" NEAR(x) * -', "the score of q_idx"])).toBe('"softcap" OR "window" OR "near"');
    expect(matchQuery(["the a of"])).toBeNull();
  });
});
