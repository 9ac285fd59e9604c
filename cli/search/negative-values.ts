/**
 * node's parseArgs reads `--max-nodes -3` as a flag after a flag ("argument is ambiguous"). For
 * options taking a value, a negative number right after them is joined to it (`--max-nodes=-3`),
 * so the command's own check can say what is wrong with the value.
 */

/** `args` with `--name -N` joined into `--name=-N` for every option of type string. */
export function joinNegativeValues(args: string[], options: Record<string, { type: string; short?: string }>): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== "string") continue;
    takesValue.add(`--${name}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (takesValue.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(a.startsWith("--") ? `${a}=${next}` : `${a}${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
