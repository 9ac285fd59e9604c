/** The known word a mistyped one most likely meant: a settings file's unknown key, a provider's name. */

/**
 * The candidate `word` is closest to, when one is close: the same word in another case (and `-` or `.` for `_`), or a
 * few edits away (at most `maxEdits`, by default 2 or a quarter of the candidate's length); the first of equally close ones.
 */
export function closestWord(word: string, candidates: Iterable<string>, maxEdits?: number): string | undefined {
  const norm = (s: string) => s.trim().toUpperCase().replace(/[-. ]/g, "_");
  const w = norm(word);
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(w, norm(c));
    if (d <= (maxEdits ?? Math.max(2, Math.floor(c.length / 4))) && (!best || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const prev = d[i - 1]!;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
