/** Unified diffs of two kernel sources, shared by `kforge trace --diff` and the web page's "diff vs parent". */
import { createTwoFilesPatch } from "diff";

/** Lines of context around each change. */
const CONTEXT_LINES = 3;

/** A unified diff (`--- a`/`+++ b` headers, `@@` hunks); "" when the sources are identical. */
export function kernelDiff(oldSource: string, newSource: string, oldName: string, newName: string): string {
  if (oldSource === newSource) return "";
  const patch = createTwoFilesPatch(oldName, newName, withNewline(oldSource), withNewline(newSource), undefined, undefined, {
    context: CONTEXT_LINES,
  });
  // Drop the "Index:"/"===" preamble that createTwoFilesPatch writes: git-style output starts at "---".
  return patch.slice(patch.indexOf("--- "));
}

/** Counts of added and removed lines in a unified diff. */
export function diffStat(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of diff.split("\n")) {
    if (line.startsWith("+") && !line.startsWith("+++")) added++;
    else if (line.startsWith("-") && !line.startsWith("---")) removed++;
  }
  return { added, removed };
}

function withNewline(s: string): string {
  return s.endsWith("\n") ? s : `${s}\n`;
}
