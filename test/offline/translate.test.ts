import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { loadConfig, repoRoot } from "../../core/config.ts";

const root = repoRoot();
const python = loadConfig().python;
const dir = mkdtempSync(join(tmpdir(), "kforge-translate-"));

function translate(body: string, kind: "score" | "mask" = "score", factoryArgs = "**_"): { status: number | null; out: string; err: string } {
  const args = kind === "score" ? "score, b, h, q_idx, kv_idx" : "b, h, q_idx, kv_idx";
  const other = kind === "score" ? "make_mask_mod" : "make_score_mod";
  const src = `import torch\n\ndef make_${kind}_mod(${factoryArgs}):\n    def mod(${args}):\n${body
    .split("\n")
    .map((l) => `        ${l}`)
    .join("\n")}\n    return mod\n\ndef ${other}(**_):\n    return None\n`;
  const file = join(dir, `ref_${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(file, src);
  const r = spawnSync(python, [join(root, "tools/offline/translate.py"), file], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("translate.py: FlexAttention mods to IR", () => {
  it("translates arithmetic, torch calls, captured numbers and indexed tensors", () => {
    const r = translate(
      "bias = slopes[h] * (kv_idx - q_idx)\nreturn torch.where(q_idx >= kv_idx, cap * torch.tanh(score / cap) + bias, -float('inf'))",
      "score",
      "cap, slopes, **_",
    );
    expect(r.err).toBe("");
    const mods = JSON.parse(r.out);
    expect(mods.scalars).toEqual(["cap"]);
    expect(mods.tensors).toEqual({ slopes: { rank: 1, dtype: "float32" } });
    expect(JSON.stringify(mods.score)).toContain('{"call":"tanh"');
    expect(JSON.stringify(mods.score)).toContain('{"where":[');
    expect(mods.mask).toBeNull();
  });
  it("handles tuple unpacking and chained comparisons in a mask", () => {
    const r = translate("r, c = q_idx // w, q_idx % w\nreturn (0 <= r - kv_idx // w <= 3) & ~(c == 0)", "mask", "w, **_");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out).mask.bin).toBe("&");
  });
  it("names a while loop and its line", () => {
    const r = translate("while score > 0:\n    score = score - 1\nreturn score");
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/line 5: the statement 'While' is not supported/);
  });
  it("names a call to an unknown function", () => {
    const r = translate("return my_helper(score)");
    expect(r.status).toBe(2);
    expect(r.err).toContain("a call to the unknown function 'my_helper'");
  });
  it("names an unsupported torch function", () => {
    const r = translate("return torch.lgamma(score)");
    expect(r.status).toBe(2);
    expect(r.err).toContain("the function 'torch.lgamma'");
  });
  it("translates erf and gelu as users spell them (torch.erf, torch.special.erf, F.gelu, approximate='tanh')", () => {
    const r = translate(
      "a = torch.erf(score) + torch.special.erf(score * 0.5)\nreturn a + torch.nn.functional.gelu(score) + F.gelu(score, approximate='tanh') + F.gelu(score, approximate='none')",
    );
    expect(r.err).toBe("");
    const text = JSON.stringify(JSON.parse(r.out).score);
    expect(text.match(/\{"call":"erf"/g)).toHaveLength(2);
    expect(text.match(/\{"call":"gelu"/g)).toHaveLength(2);
    expect(text.match(/\{"call":"gelu_tanh"/g)).toHaveLength(1);
    const bad = translate("return F.gelu(score, approximate='fast')");
    expect(bad.status).toBe(2);
    expect(bad.err).toContain("F.gelu with approximate='fast' (supported: approximate='none' or 'tanh')");
  });
  it("translates clamp with keyword bounds, integer powers and multi-dimensional, nested indexing", () => {
    const r = translate(
      "d = torch.clamp(q_idx - kv_idx, max=8)\nreturn score + t[h, d] * torch.sigmoid(score) ** 2 + u[b, t2[q_idx, kv_idx]]",
      "score",
      "t, u, t2, **_",
    );
    expect(r.err).toBe("");
    const mods = JSON.parse(r.out);
    expect(mods.tensors).toEqual({ t: { rank: 2, dtype: "float32" }, t2: { rank: 2, dtype: "float32" }, u: { rank: 2, dtype: "float32" } });
    const text = JSON.stringify(mods.score);
    expect(text).toContain('{"call":"clamp_max","args":[');
    expect(text).toContain('{"call":"pow","args":[{"call":"sigmoid"');
    expect(text).toContain('{"load":"u","index":[{"var":"b"},{"load":"t2","index":[{"var":"q_idx"},{"var":"kv_idx"}]}]}');
  });
  it("names attribute access on something other than torch", () => {
    const r = translate("return score.abs()");
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/attribute access 'score.abs'/);
    const r2 = translate("return score + cfg.bias", "score", "cfg, **_");
    expect(r2.err).toContain("attribute access 'cfg.bias'");
  });
  it("rejects Python's and/or with a hint to use & and |", () => {
    const r = translate("return (q_idx >= kv_idx) and (kv_idx >= 0)", "mask");
    expect(r.status).toBe(2);
    expect(r.err).toContain("use & and |");
  });
  it("rejects free names", () => {
    const r = translate("return score * mystery");
    expect(r.err).toContain("free name 'mystery'");
  });
});
