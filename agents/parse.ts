/**
 * Reading reasoning-model replies: the kernel code out of prose and several fences, a JSON object
 * out of chatter. Model garbage is a typed `ParseFailure` whose reason can be fed back to the
 * model, never an exception.
 */
import type { z } from "zod";
import { splitThink } from "./think.ts";

/** Why a reply could not be used, worded for the model's next prompt. */
export interface ParseFailure {
  ok: false;
  kind: "no-code" | "no-json" | "invalid-json" | "schema";
  reason: string;
}

/** A parse that worked; `notes` say what was tolerated (e.g. an unclosed fence). */
export interface ParseSuccess<T> {
  ok: true;
  value: T;
  notes: string[];
}

export type Parsed<T> = ParseSuccess<T> | ParseFailure;

/** One fenced block of a reply. */
export interface CodeBlock {
  lang: string;
  code: string;
  /** False when the reply ended inside the block (truncated at max tokens). */
  closed: boolean;
}

const PY_LANGS = new Set(["python", "py", "python3", "triton", ""]);
const PYTHONISH = /^\s*(import |from \S+ import |def |class |@)/m;

/** Splits out every fenced block (``` or ~~~, any info string), in order, an unclosed last one included. */
export function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split("\n");
  let open: { fence: string; lang: string; body: string[] } | undefined;
  for (const line of lines) {
    if (!open) {
      const m = /^[ \t]*(`{3,}|~{3,})\s*([\w+#.-]*)[^`]*$/.exec(line);
      if (m) open = { fence: m[1]!, lang: (m[2] ?? "").toLowerCase(), body: [] };
      continue;
    }
    const close = /^[ \t]*(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1]![0] === open.fence[0] && close[1]!.length >= open.fence.length) {
      blocks.push({ lang: open.lang, code: open.body.join("\n"), closed: true });
      open = undefined;
    } else open.body.push(line);
  }
  if (open) blocks.push({ lang: open.lang, code: open.body.join("\n"), closed: false });
  return blocks;
}

function defines(code: string, name: string): boolean {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\s*(?:async\\s+)?(?:def|class)\\s+${n}\\b|^${n}\\s*=`, "m").test(code);
}

/**
 * The kernel module of a reply: think blocks dropped, Python(-looking) fenced blocks kept, those
 * defining every `mustDefine` name preferred, closed blocks over a truncated one, and among those
 * the last that is at least half as long as the longest (a final version, not a usage snippet).
 */
export function extractPythonCode(reply: string, opts: { mustDefine?: string[] } = {}): Parsed<string> {
  const { content, reasoning } = splitThink(reply);
  const must = opts.mustDefine ?? [];
  const notes: string[] = [];
  const all = codeBlocks(content).filter((b) => b.code.trim());
  let pool = all.filter((b) => PY_LANGS.has(b.lang) && (b.lang !== "" || PYTHONISH.test(b.code)));
  if (pool.length === 0 && all.length === 0 && PYTHONISH.test(content)) {
    // No fences at all: take everything from the first line that looks like code.
    const start = content.search(PYTHONISH);
    pool = [{ lang: "", code: content.slice(start), closed: true }];
    notes.push("the reply had no code fence; took the text from the first import/def onwards");
  }
  if (pool.length === 0) {
    const inThoughts = codeBlocks(reasoning).length > 0;
    return fail(
      "no-code",
      (all.length > 0
        ? `the reply has code blocks but none in Python (found: ${all.map((b) => b.lang || "untagged").join(", ")}). `
        : "the reply contains no code block. ") +
        (inThoughts ? "Code appeared only inside your reasoning, not in the answer. " : "") +
        "Answer with the complete module in one ```python fenced block.",
    );
  }
  if (must.length > 0) {
    const full = pool.filter((b) => must.every((n) => defines(b.code, n)));
    if (full.length === 0)
      return fail(
        "no-code",
        `no Python code block defines ${must.map((n) => `\`${n}\``).join(" and ")}. Answer with the complete module in one \`\`\`python fenced block.`,
      );
    pool = full;
  }
  const closed = pool.filter((b) => b.closed);
  if (closed.length > 0) pool = closed;
  else notes.push("the code fence was never closed (reply truncated?); the code may be incomplete");
  const longest = Math.max(...pool.map((b) => b.code.trim().length));
  const chosen = pool.filter((b) => b.code.trim().length * 2 >= longest).at(-1)!;
  if (pool.length > 1) notes.push(`chose block ${pool.indexOf(chosen) + 1} of ${pool.length} candidates`);
  return { ok: true, value: dedent(chosen.code).trimEnd() + "\n", notes };
}

function dedent(code: string): string {
  const lines = code.split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return cut ? lines.map((l) => l.slice(cut)).join("\n") : code;
}

/** Every balanced `{...}` span, outermost first, scanning JSON strings correctly. */
function balancedObjects(text: string, limit = 200): string[] {
  const spans: string[] = [];
  for (let start = text.indexOf("{"); start !== -1 && spans.length < limit; start = text.indexOf("{", start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === "\\") i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === "{") depth++;
      else if (ch === "}" && --depth === 0) {
        spans.push(text.slice(start, i + 1));
        break;
      }
    }
  }
  return spans;
}

/** JSON.parse, then again with the usual slips repaired (trailing commas, // comments, smart quotes). */
function parseLenient(text: string): { ok: true; value: unknown; repaired: boolean } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text), repaired: false };
  } catch (err) {
    const repaired = text
      .replace(/[\u201c\u201d]/g, '"')
      .replace(/^\s*\/\/.*$/gm, "")
      .replace(/,(\s*[}\]])/g, "$1");
    try {
      return { ok: true, value: JSON.parse(repaired), repaired: true };
    } catch {
      return { ok: false, error: (err as Error).message };
    }
  }
}

/**
 * The first JSON object in a reply that parses and matches `schema`: fenced ```json blocks are
 * tried first, then every balanced `{...}` in the prose. Think blocks are ignored.
 */
export function extractJson<S extends z.ZodType>(reply: string, schema: S): Parsed<z.infer<S>> {
  const { content } = splitThink(reply);
  const fenced = codeBlocks(content)
    .filter((b) => b.lang === "json" || b.lang === "" || b.lang === "jsonc")
    .flatMap((b) => [b.code.trim(), ...balancedObjects(b.code)]);
  const candidates = [...new Set([...fenced, ...balancedObjects(content)])].filter((c) => c.startsWith("{"));
  if (candidates.length === 0) return fail("no-json", "the reply contains no JSON object. Answer with one JSON object in a ```json fenced block.");
  let firstSchemaError: string | undefined;
  let firstSyntaxError: string | undefined;
  for (const text of candidates) {
    const parsed = parseLenient(text);
    if (!parsed.ok) {
      firstSyntaxError ??= parsed.error;
      continue;
    }
    const checked = schema.safeParse(parsed.value);
    if (checked.success) return { ok: true, value: checked.data, notes: parsed.repaired ? ["repaired the JSON (trailing commas or comments)"] : [] };
    firstSchemaError ??= checked.error.issues
      .slice(0, 4)
      .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
      .join("; ");
  }
  if (firstSchemaError !== undefined)
    return fail("schema", `the JSON object does not match the required fields: ${firstSchemaError}. Answer with one corrected JSON object.`);
  return fail(
    "invalid-json",
    `the JSON in the reply does not parse (${firstSyntaxError}). Answer with one valid JSON object in a \`\`\`json fenced block.`,
  );
}

function fail(kind: ParseFailure["kind"], reason: string): ParseFailure {
  return { ok: false, kind, reason };
}
