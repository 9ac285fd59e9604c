/**
 * A small Python tokenizer for reading users' `score_mod`/`mask_mod` sources as text. The memory
 * derives variant features from their structure; user code is never executed.
 */

/** One token: names, numbers, operators, strings (content kept), and logical line ends. */
export interface PyToken {
  kind: "name" | "number" | "string" | "op" | "newline";
  text: string;
}

// Longest first, so `//=` wins over `//` and `/`.
const OPERATORS = [
  "**=",
  "//=",
  ">>=",
  "<<=",
  "...",
  "->",
  ":=",
  "**",
  "//",
  "<<",
  ">>",
  "<=",
  ">=",
  "==",
  "!=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "@=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "@",
  "&",
  "|",
  "^",
  "~",
  "<",
  ">",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  ".",
  ";",
  "=",
];
const OPEN = new Set(["(", "[", "{"]);
const CLOSE = new Set([")", "]", "}"]);
const NAME_START = /[\p{L}_]/u;
const NAME_CHAR = /[\p{L}\p{N}_]/u;
const STRING_PREFIX = /^(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])?(?:'''|"""|'|")/;
const NUMBER = /^(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)/;

/** Splits Python source into tokens; comments are dropped, newlines inside brackets are not line ends. */
export function tokenizePython(src: string): PyToken[] {
  const out: PyToken[] = [];
  let i = 0;
  let depth = 0;
  const endLine = () => {
    if (depth === 0 && out.length > 0 && out[out.length - 1]!.kind !== "newline") out.push({ kind: "newline", text: "\n" });
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      endLine();
      i++;
    } else if (c === "\\" && src[i + 1] === "\n") {
      i += 2; // explicit line continuation
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f") {
      i++;
    } else if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (STRING_PREFIX.test(src.slice(i, i + 5))) {
      const m = STRING_PREFIX.exec(src.slice(i, i + 5))!;
      const quote = m[0].replace(/^[rRbBuUfF]+/, "");
      const raw = /[rR]/.test(m[0].slice(0, m[0].length - quote.length));
      let j = i + m[0].length;
      let text = "";
      while (j < src.length && !src.startsWith(quote, j)) {
        if (quote.length === 1 && src[j] === "\n") break; // unterminated single-quoted string: stop at line end
        if (src[j] === "\\" && !raw && j + 1 < src.length) {
          text += src[j + 1];
          j += 2;
        } else {
          text += src[j];
          j++;
        }
      }
      out.push({ kind: "string", text });
      i = Math.min(src.length, j + quote.length);
    } else if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < src.length && NAME_CHAR.test(src[j]!)) j++;
      out.push({ kind: "name", text: src.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = NUMBER.exec(src.slice(i, i + 64));
      const text = m ? m[0] : c;
      out.push({ kind: "number", text });
      i += text.length;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (op) {
        if (OPEN.has(op)) depth++;
        if (CLOSE.has(op)) depth = Math.max(0, depth - 1);
        out.push({ kind: "op", text: op });
        i += op.length;
      } else {
        i++; // a character Python would reject (`$`, `?`, a stray backtick): ignore it
      }
    }
  }
  endLine();
  return out;
}

/** A function definition found in a token stream: its name and parameter names, in order. */
export interface PyDef {
  name: string;
  params: string[];
}

/** Every `def name(params):` in the tokens (nested ones included); annotations and defaults are skipped. */
export function findDefs(tokens: PyToken[]): PyDef[] {
  const defs: PyDef[] = [];
  for (let i = 0; i + 2 < tokens.length; i++) {
    if (tokens[i]!.text !== "def" || tokens[i + 1]!.kind !== "name" || tokens[i + 2]!.text !== "(") continue;
    const params: string[] = [];
    let depth = 0;
    let expectName = true;
    for (let j = i + 3; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === "op" && OPEN.has(t.text)) depth++;
      else if (t.kind === "op" && CLOSE.has(t.text)) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && t.text === ",") expectName = true;
      else if (depth === 0 && expectName && t.kind === "name") {
        params.push(t.text);
        expectName = false;
      } else if (depth === 0 && (t.text === ":" || t.text === "=")) expectName = false;
      // `*`, `/` and `**` markers leave expectName as it is, so `*args` yields `args`.
    }
    defs.push({ name: tokens[i + 1]!.text, params: params.filter((p) => p !== "self") });
  }
  return defs;
}

/** Splits tokens into logical statements (no newline tokens inside). */
export function statements(tokens: PyToken[]): PyToken[][] {
  const out: PyToken[][] = [];
  let cur: PyToken[] = [];
  for (const t of tokens) {
    if (t.kind === "newline" || t.text === ";") {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push(t);
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * The source text of each top-level or nested `def NAME` block in a file, found by indentation
 * (for pulling `score_mod`/`mask_mod` out of a problem's reference.py).
 */
export function defBlocks(src: string): Map<string, string> {
  const lines = src.split(/\r?\n/);
  const blocks = new Map<string, string>();
  lines.forEach((line, i) => {
    const m = /^(\s*)def\s+([\p{L}_][\p{L}\p{N}_]*)\s*\(/u.exec(line);
    if (!m || blocks.has(m[2]!)) return;
    const indent = m[1]!.length;
    // The signature may span lines: it ends where its parentheses balance.
    let balance = parenBalance(line);
    let end = i + 1;
    for (; end < lines.length; end++) {
      const l = lines[end]!;
      if (balance > 0) {
        balance += parenBalance(l);
        continue;
      }
      if (l.trim() === "") continue;
      if (l.length - l.trimStart().length <= indent) break;
    }
    while (end > i + 1 && lines[end - 1]!.trim() === "") end--;
    blocks.set(m[2]!, lines.slice(i, end).join("\n"));
  });
  return blocks;
}

function parenBalance(line: string): number {
  const code = line.replace(/#.*$/, "");
  return (code.match(/[([{]/g)?.length ?? 0) - (code.match(/[)\]}]/g)?.length ?? 0);
}
