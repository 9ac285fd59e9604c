/**
 * `--shapes 8x32x16384x128,2x32x1024:8192x64`: the benchmark shapes a user chooses (B x H[/Hkv] x S[:S_kv] x D),
 * and the correctness shapes derived from them: small, with odd lengths, the same head dims, GQA ratio and
 * S_kv/S ratio, so a kernel that is only right at multiples of its block size still fails.
 */
import { UserError } from "../core/errors.ts";
import { AttentionProblemSpec, AttentionShape, type LoadedProblem } from "./schema.ts";

const PART = /^(\d+)x(\d+)(?:\/(\d+))?x(\d+)(?::(\d+))?x(\d+)$/;
/** Query lengths of the derived correctness shapes: 1, odd lengths around block sizes, one exact multiple. */
const SMALL_S = [1, 17, 77, 128, 257];
const MAX_CORRECTNESS = 8;
/** At most this many scores per (b, h) in a correctness shape: the reference runs in float64. */
const MAX_SCORES = 1537 * 1537;

/** Parses "BxHxSxD[,...]" (H may be H/Hkv, S may be S:Skv); a UserError says which part is wrong and why. */
export function parseShapes(text: string): AttentionShape[] {
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new UserError("--shapes is empty", { hint: "e.g. --shapes 8x32x16384x128,2x32x8192x64" });
  return parts.map((p) => {
    const m = PART.exec(p);
    if (!m)
      throw new UserError(`--shapes: "${p}" is not BxHxSxD`, {
        hint: "B x H[/Hkv] x S[:S_kv] x D, e.g. 8x32x16384x128, 4x32/8x4096x128 (GQA) or 2x16x1024:8192x64 (S_kv = 8192)",
      });
    const [B, H, Hkv, S, Skv, D] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x)));
    const raw = { B, H, ...(Hkv !== undefined && Hkv !== H ? { Hkv } : {}), S, ...(Skv !== undefined && Skv !== S ? { Skv } : {}), D };
    const parsed = AttentionShape.safeParse(raw);
    if (!parsed.success) throw new UserError(`--shapes: "${p}": ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    return parsed.data;
  });
}

/** Small correctness shapes covering each benchmark shape's head dim, GQA ratio and S_kv/S ratio. */
export function deriveCorrectness(bench: AttentionShape[]): AttentionShape[] {
  const kinds = uniq(bench.map((s) => ({ D: s.D, g: s.H / (s.Hkv ?? s.H), r: (s.Skv ?? s.S) / s.S })));
  const longest = Math.max(...bench.map((s) => Math.max(s.S, s.Skv ?? s.S)));
  const lengths = longest >= 4096 ? [...SMALL_S, 1537] : SMALL_S;
  const out: AttentionShape[] = [];
  const n = Math.min(MAX_CORRECTNESS, lengths.length * kinds.length);
  for (let i = 0; i < n; i++) {
    const kind = i % kinds.length;
    const k = kinds[kind]!;
    let S = lengths[(Math.floor(i / kinds.length) + kind) % lengths.length]!; // each kind gets small and odd lengths
    if (S * S * k.r > MAX_SCORES) S = Math.floor(Math.sqrt(MAX_SCORES / k.r)) | 1; // a long KV: fewer queries
    const hkv = [1, 3, 2, 1, 2, 1][i % 6]!;
    const Skv = k.r === 1 ? S : S === 128 ? Math.max(1, Math.round(S * k.r)) : Math.max(1, Math.round(S * k.r)) | 1;
    const shape = { B: 1 + (i % 2), H: hkv * k.g, ...(k.g !== 1 ? { Hkv: hkv } : {}), S, ...(Skv !== S ? { Skv } : {}), D: k.D };
    out.push(AttentionShape.parse(shape));
  }
  return out;
}

/** The problem with its shapes replaced by `--shapes` (benchmark) and the correctness shapes derived from them. */
export function withShapes(problem: LoadedProblem, text: string | undefined): LoadedProblem {
  if (text === undefined) return problem;
  const benchmark = parseShapes(text);
  if (!problem.spec.variant && benchmark.some((s) => s.Skv !== undefined)) {
    throw new UserError(
      `--shapes: S_kv != S_q needs a user variant (its mods are evaluated at both lengths); ${problem.spec.name}'s reference assumes S_q == S_kv`,
      {
        hint: "make the variant with `kforge problems new NAME --score-mod FILE` and search that",
      },
    );
  }
  const spec = AttentionProblemSpec.parse({ ...problem.spec, shapes: { correctness: deriveCorrectness(benchmark), benchmark } });
  return { ...problem, spec };
}

function uniq<T>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
