/** The files `kforge problems new` writes: problem.json, a self-contained reference.py, and prompt.md. */
import type { ProblemSpec } from "./schema.ts";
import type { Inspection } from "./scaffold.ts";

/** problem.json as the suite writes it: two-space indent, one shape per line. */
export function formatProblemJson(spec: { tags: readonly string[] } & Record<string, unknown>): string {
  const text = JSON.stringify(spec, null, 2)
    .replace(/\{\s*\n\s*"B"[^}]*\}/g, (m) => JSON.stringify(JSON.parse(m)).replace(/,"/g, ', "').replace(/":/g, '": '))
    .replace(/"tags": \[[^\]]*\]/, (m) => `"tags": ${JSON.stringify(spec.tags).replace(/","/g, '", "')}`);
  return `${text}\n`;
}

/** reference.py: the user's mods wrapped in factories, and `reference` evaluating them eagerly. */
export function renderReference(args: { description: string; inspection: Inspection; sources: string[]; evaluator: string }): string {
  const { inspection } = args;
  const paramNames = Object.keys(inspection.params).sort();
  const factoryArgs = [...paramNames, "**_"].join(", ");
  const factory = (kind: "score" | "mask"): string => {
    const mod = inspection.mods[kind];
    if (!mod) {
      const what = kind === "score" ? "No score modification." : "No mask: every query sees every key.";
      return `def make_${kind}_mod(**_):\n    """${what}"""\n    return None\n`;
    }
    const body = mod.source.split("\n").map((l) => (l.trim() ? `    ${l}` : "")).join("\n");
    return [`def make_${kind}_mod(${factoryArgs}):`, `    """FlexAttention ${kind}_mod (from ${baseName(mod.file)}, unchanged)."""`, "", body, "", `    return ${mod.name}`, ""].join("\n");
  };
  // The evaluator is inlined (from its first def) so the reference stays self-contained.
  const evalStart = args.evaluator.search(/^def /m);
  const evaluator = evalStart >= 0 ? args.evaluator.slice(evalStart) : args.evaluator;
  return [
    `"""${args.description.replace(/"""/g, "'''")}"""`,
    "import torch",
    "",
    `# Scaffolded by \`kforge problems new\` from ${args.sources.join(" and ")}.`,
    paramNames.length ? `# Params (problem.json): ${paramNames.join(", ")}; they arrive materialised (numbers, tensors).` : "# No params.",
    "",
    "",
    factory("score"),
    "",
    factory("mask"),
    "",
    "def reference(q, k, v, *, scale, **params):",
    `    """The correctness spec: the mods evaluated eagerly on broadcast index grids, in q's dtype."""`,
    "    return flex_reference(q, k, v, scale, make_score_mod(**params), make_mask_mod(**params))",
    "",
    "",
    evaluator.trimEnd(),
    "",
  ].join("\n");
}

/** prompt.md: the task as a user would state it, with the mods verbatim. */
export function renderPrompt(args: { spec: ProblemSpec; inspection: Inspection }): string {
  const { spec, inspection } = args;
  const score = inspection.mods.score;
  const mask = inspection.mods.mask;
  const params = Object.entries(spec.params);
  const sig = ["q, k, v, *, scale: float", ...params.map(([n, v]) => `${n}: ${typeof v === "number" ? (Number.isInteger(v) ? "int" : "float") : "torch.Tensor"}`)].join(", ");
  const paramDoc = params.map(([n, v]) =>
    typeof v === "number"
      ? `- \`${n}\` = ${v}.`
      : v === "alibi"
        ? `- \`${n}\`: float32 tensor \`[H]\` on the GPU, \`${n}[h] = 2 ** (-8 * (h + 1) / H)\`.`
        : `- \`${n}\`: int32 tensor \`[S]\` on the GPU, non-decreasing document ids (${v.replace(/\D/g, "")} contiguous documents of random lengths; it changes between calls).`,
  );
  const math = [
    "g = H // Hkv                                   # query heads per KV head (1 here)",
    "s[i, j] = scale * dot(q[b, h, i, :], k[b, h // g, j, :])",
    ...(score ? [`s[i, j] = ${score.name}(s[i, j], b, h, i, j)`] : []),
    ...(mask
      ? [`visible(i, j) = ${mask.name}(b, h, i, j)`, "p[i, j] = exp(s[i, j]) / sum over visible j' of exp(s[i, j'])   for visible j, else 0 (a row with no visible key gives 0)"]
      : ["p[i, j] = exp(s[i, j]) / sum over all j' of exp(s[i, j'])"]),
    "out[b, h, i, :] = sum over j of p[i, j] * v[b, h // g, j, :]",
  ];
  const mods = [score, mask].filter((m) => m !== undefined).map((m) => m.source.trimEnd());
  const seqs = [...new Set(spec.shapes.correctness.map((s) => s.S))].sort((a, b) => a - b);
  return [
    `# ${spec.description} (\`${spec.name}\`)`,
    "",
    "Write a fast GPU kernel for an NVIDIA H100 that computes attention modified by the FlexAttention functions below.",
    "",
    "## What to compute",
    "",
    "For every batch `b`, query head `h` and query position `i` (0-based; `S` query and `S` key positions):",
    "",
    "```",
    ...math,
    "```",
    "",
    `In FlexAttention form (this is what the baseline runs${params.length ? "; the parameters below are captured" : ""}):`,
    "",
    "```python",
    mods.join("\n\n"),
    "```",
    "",
    "## Interface",
    "",
    "Write one Python module that defines",
    "",
    "```python",
    `def attention(${sig}) -> torch.Tensor:`,
    "```",
    "",
    "- `q` is `[B, H, S, D]`; `k` and `v` are `[B, Hkv, S, D]`; all `torch.bfloat16` CUDA tensors. Here `Hkv == H`, but don't fail if `Hkv` divides `H`.",
    "- `scale` is the softmax scale (1/sqrt(D) in the benchmarks).",
    ...paramDoc,
    "- Return a new bfloat16 tensor `[B, H, S, D]`; never write into or return one of the inputs.",
    "- Do the work in your own kernels: Triton (`@triton.jit`) or CUDA C++ built with `torch.utils.cpp_extension.load_inline`. PyTorch may only allocate, reshape and launch. Don't call `scaled_dot_product_attention` or `flex_attention`, and don't compute the attention with PyTorch ops (`matmul`, `softmax`, ...).",
    "- No caching of results between calls, no work on side streams or threads.",
    "",
    "## Shapes, correctness and speed",
    "",
    `- Benchmarked at ${spec.shapes.benchmark.map((s) => `\`${s.B}, ${s.H}, ${s.S}, ${s.D}\``).join(" and ")} (B, H, S, D), bfloat16, against compiled FlexAttention running the functions above. Speed is what you are optimising.`,
    `- Correctness is checked first, on small shapes with S in {${seqs.join(", ")}} (not all multiples of a block size), several random inputs: compared with a float32 reference, the largest error must be at most twice the error of the same math done naively in bfloat16, plus ${spec.atol}.`,
    "- Every output must be finite.",
    "",
  ].join("\n");
}

function baseName(path: string): string {
  return path.split("/").pop() ?? path;
}
