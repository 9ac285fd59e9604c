/** Syntax-highlighted Python and unified diffs, via highlight.js bundled from node_modules (no CDN). */
import hljs from "highlight.js/lib/core";
import python from "highlight.js/lib/languages/python";
import { h } from "./dom.ts";

hljs.registerLanguage("python", python);

/** Source files longer than this are shown plain: highlighting them would stall the page. */
const MAX_HIGHLIGHT_CHARS = 200_000;

/** A `<pre><code>` block of Python with line numbers. hljs escapes the text it returns. */
export function pythonBlock(source: string): HTMLElement {
  const code = h("code", { class: "hljs language-python" });
  if (source.length <= MAX_HIGHLIGHT_CHARS) code.innerHTML = hljs.highlight(source, { language: "python", ignoreIllegals: true }).value;
  else code.textContent = source;
  const lines = source.replace(/\n$/, "").split("\n").length;
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" }, Array.from({ length: lines }, (_, i) => String(i + 1)).join("\n"));
  return h("div", { class: "code" }, gutter, h("pre", {}, code));
}

/** A unified diff, one row per line, coloured by kind, the code in each row highlighted as Python. */
export function diffBlock(diff: string): HTMLElement {
  const rows = diff
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => {
      const kind =
        line.startsWith("+++") || line.startsWith("---")
          ? "file"
          : line.startsWith("@@")
            ? "hunk"
            : line[0] === "+"
              ? "add"
              : line[0] === "-"
                ? "del"
                : "ctx";
      const row = h("div", { class: `diff-line ${kind}` });
      if (kind === "add" || kind === "del" || kind === "ctx") {
        const sign = h("span", { class: "sign" }, line[0] ?? " ");
        const code = h("span", {});
        code.innerHTML = hljs.highlight(line.slice(1), { language: "python", ignoreIllegals: true }).value;
        row.append(sign, code);
      } else row.textContent = line;
      return row;
    });
  return h("pre", { class: "diff hljs" }, ...rows);
}
