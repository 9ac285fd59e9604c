import { describe, expect, it } from "vitest";
import { z } from "zod";
import { codeBlocks, extractJson, extractPythonCode } from "../../agents/parse.ts";
import { splitThink, ThinkStream } from "../../agents/think.ts";

const KERNEL_V1 = "import torch\nimport triton\n\ndef attention(q, k, v, *, scale):\n    return q  # first try\n";
const KERNEL_V2 =
  "import torch\nimport triton\n\n@triton.jit\ndef _kernel(Q, K, V):\n    pass\n\ndef attention(q, k, v, *, scale):\n    return torch.empty_like(q)  # final\n";

describe("extractPythonCode", () => {
  it("takes the final kernel from think + prose + three fences (not the draft, not the usage snippet)", () => {
    const reply = [
      "<think>Maybe ```python\ndef attention(q, k, v, *, scale): return 0\n``` no wait.</think>",
      "Here is my first attempt:",
      "```python",
      KERNEL_V1,
      "```",
      "Actually that is wrong; the corrected version:",
      "```python",
      KERNEL_V2,
      "```",
      "Use it like this:",
      "```python",
      "out = attention(q, k, v, scale=0.125)",
      "```",
    ].join("\n");
    const r = extractPythonCode(reply, { mustDefine: ["attention"] });
    expect(r.ok && r.value).toBe(KERNEL_V2);
    const loose = extractPythonCode(reply);
    expect(loose.ok && loose.value).toBe(KERNEL_V2);
  });

  it("accepts an untagged fence that looks like Python, and skips other languages", () => {
    const reply = "Run:\n```bash\npip install triton\n```\nCode:\n```\n" + KERNEL_V1 + "```\n";
    const r = extractPythonCode(reply);
    expect(r.ok && r.value).toBe(KERNEL_V1);
  });

  it("returns the code of an unclosed fence (truncated reply) with a note", () => {
    const r = extractPythonCode("Sure.\n```python\n" + KERNEL_V1 + "def helper(x):\n    return x +");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toContain("def helper(x):");
    expect(r.notes.join()).toMatch(/never closed/);
  });

  it("prefers a complete block over a truncated later one", () => {
    const r = extractPythonCode("```python\n" + KERNEL_V2 + "```\nImproved:\n```python\n" + KERNEL_V1.slice(0, 40));
    expect(r.ok && r.value).toBe(KERNEL_V2);
  });

  it("fails with a reason the coder can be told when there is no code", () => {
    const r = extractPythonCode("<think>```python\nimport torch\n```</think>I believe a tiled approach is best.");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe("no-code");
    expect(r.reason).toMatch(/no code block/);
    expect(r.reason).toMatch(/only inside your reasoning/);
    expect(r.reason).toMatch(/```python/);
  });

  it("fails when no block defines a required name", () => {
    const r = extractPythonCode("```python\nimport torch\ndef helper():\n    pass\n```", { mustDefine: ["attention"] });
    expect(r).toMatchObject({ ok: false, kind: "no-code", reason: expect.stringContaining("`attention`") });
  });

  it("takes unfenced code from the first import onwards", () => {
    const r = extractPythonCode("Here you go:\n" + KERNEL_V1);
    expect(r.ok && r.value).toBe(KERNEL_V1);
  });

  it("keeps ~~~ fences, four-backtick fences and indentation inside lists", () => {
    expect(codeBlocks("~~~python\na = 1\n~~~")).toEqual([{ lang: "python", code: "a = 1", closed: true }]);
    expect(codeBlocks("````python\n```\nx\n````")).toEqual([{ lang: "python", code: "```\nx", closed: true }]);
    const r = extractPythonCode("1. Code:\n   ```python\n   import torch\n   def attention(q):\n       return q\n   ```");
    expect(r.ok && r.value).toBe("import torch\ndef attention(q):\n    return q\n");
  });
});

const Plan = z.object({ ideas: z.array(z.object({ title: z.string(), why: z.string() })).min(1), confidence: z.number() });

describe("extractJson", () => {
  it("reads a fenced object with trailing commas", () => {
    const reply =
      '<think>{"ideas": []}</think>My plan:\n```json\n{\n  "ideas": [\n    {"title": "tile", "why": "reuse",},\n  ],\n  "confidence": 0.7,\n}\n```\nDone.';
    const r = extractJson(reply, Plan);
    expect(r).toEqual({ ok: true, value: { ideas: [{ title: "tile", why: "reuse" }], confidence: 0.7 }, notes: [expect.stringMatching(/repaired/)] });
  });

  it("finds the first object in prose that matches the schema, braces in strings included", () => {
    const reply = 'Note {not json}. Also {"x": 1}. Answer: {"ideas": [{"title": "use {braces}", "why": "a \\" quote"}], "confidence": 1} thanks';
    const r = extractJson(reply, Plan);
    expect(r.ok && r.value.ideas[0]!.title).toBe("use {braces}");
  });

  it("reports schema mismatches with the field paths", () => {
    const r = extractJson('{"ideas": [{"title": "t"}], "confidence": "high"}', Plan);
    expect(r).toMatchObject({ ok: false, kind: "schema" });
    if (!r.ok) expect(r.reason).toMatch(/ideas\.0\.why.*confidence/);
  });

  it("reports unparseable JSON and missing JSON as failures, never throws", () => {
    expect(extractJson('```json\n{"ideas": [oops]}\n```', Plan)).toMatchObject({ ok: false, kind: "invalid-json" });
    expect(extractJson("I could not decide.", Plan)).toMatchObject({ ok: false, kind: "no-json" });
    expect(extractJson("", Plan)).toMatchObject({ ok: false });
  });
});

describe("think splitting", () => {
  it("splits several blocks, an unclosed block, and a lone closing tag", () => {
    expect(splitThink("<think>a</think>x<THINK>b</THINK>y")).toEqual({ content: "xy", reasoning: "a\n\nb" });
    expect(splitThink("answer <think>cut off")).toEqual({ content: "answer", reasoning: "cut off" });
    expect(splitThink("prefilled</think>answer")).toEqual({ content: "answer", reasoning: "prefilled" });
    expect(splitThink("plain")).toEqual({ content: "plain", reasoning: "" });
  });

  it("routes streamed deltas with tags cut across chunk boundaries", () => {
    const s = new ThinkStream();
    const out = { content: "", reasoning: "" };
    for (const piece of ["<th", "ink>rea", "son</thi", "nk>ans", "wer <", "3"]) {
      const p = s.push(piece);
      out.content += p.content;
      out.reasoning += p.reasoning;
    }
    out.content += s.end().content;
    expect(out).toEqual({ content: "answer <3", reasoning: "reason" });
  });
});
