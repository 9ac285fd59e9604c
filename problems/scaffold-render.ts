/** The files `kforge problems new` writes for a user variant: problem.json, reference.py and prompt.md. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CPU_BASELINE, CPU_LANE, cpuLaneRules, onCpuLane } from "./device-text.ts";
import { describeCaptured } from "./inputs-text.ts";
import type { ProblemSpec } from "./schema.ts";

/** problem.json as the suite writes it: two-space indent, one shape per line. */
export function formatProblemJson(spec: { tags: readonly string[] } & Record<string, unknown>): string {
  const text = JSON.stringify(spec, null, 2)
    .replace(/\{\s*\n\s*"B"[^}]*\}/g, (m) => JSON.stringify(JSON.parse(m)).replace(/,"/g, ', "').replace(/":/g, '": '))
    .replace(/"tags": \[[^\]]*\]/, () => `"tags": ${JSON.stringify(spec.tags).replace(/","/g, '", "')}`);
  return `${text}\n`;
}

/** reference.py of a variant: its mods (built by the harness per shape and seed) evaluated element-wise. */
export function renderReference(args: { description: string; spec: ProblemSpec }): string {
  const files = args.spec.variant?.files.filter((f) => f.endsWith(".py")) ?? [];
  return [
    `"""${args.description.replace(/"""/g, "'''")}`,
    "",
    `A user variant (kforge problems new). The correctness spec is the variant's own mods (${files.join(", ")}, beside`,
    "this file), applied to every (b, h, q_idx, kv_idx) of the full score matrix as FlexAttention applies them, in",
    "float64 on the verifier's CPU path (float32 on the GPU). The verifier builds the mods and the tensors they",
    "capture for each shape and seed (calling the variant's factory, if it has one) and passes both here.",
    '"""',
    "",
    "",
    "def reference(q, k, v, *, scale, score_mod=None, mask_mod=None, **captured):",
    '    """softmax(score_mod(scale * q @ k^T)) @ v over the keys mask_mod keeps, in q\'s dtype; a query row with no',
    '    kept key gives 0. `captured` are the tensors attention(...) receives; the mods already hold the same ones."""',
    "    from kforge_harness.variant_build import Built, evaluate  # the harness's element-wise evaluator",
    "",
    "    return evaluate(q, k, v, scale, Built(score_mod, mask_mod, captured))",
    "",
  ].join("\n");
}

/** prompt.md of a variant: the task, the variant's files verbatim, the interface, the shapes. */
export function renderPrompt(args: { spec: ProblemSpec; folder: string; notes: string[]; structure?: string[] }): string {
  const { spec } = args;
  const v = spec.variant!;
  const captured = v.captured;
  const sig = ["q, k, v, *, scale: float", ...captured.map((c) => `${c.name}: torch.Tensor`)].join(", ");
  const dtype = spec.dtype === "fp16" ? "float16" : "bfloat16";
  const where = (kind: "score" | "mask") => {
    const src = v[kind];
    if (!src) return kind === "score" ? "no score_mod (scores unchanged)" : "no mask_mod (every key visible)";
    return src.factory
      ? `the ${kind}_mod returned by \`${src.symbol}(...)\` in ${src.file} (called with the shape, device and a seed)`
      : `\`${src.symbol}\` in ${src.file}`;
  };
  const files = v.files.filter((f) => f.endsWith(".py"));
  const all = [...spec.shapes.correctness, ...spec.shapes.benchmark];
  const seqs = [...new Set(spec.shapes.correctness.map((s) => (s.Skv && s.Skv !== s.S ? `${s.S}:${s.Skv}` : String(s.S))))];
  const cross = all.some((s) => s.Skv !== undefined && s.Skv !== s.S);
  const cpu = onCpuLane(spec);
  return [
    `# ${spec.description} (\`${spec.name}\`)`,
    "",
    cpu
      ? `Write a fast kernel for ${CPU_LANE} that computes attention modified by the user's FlexAttention functions below.`
      : "Write a fast GPU kernel for an NVIDIA Hopper GPU (H100/H200) that computes attention modified by the user's FlexAttention functions below.",
    "",
    "## What to compute",
    "",
    `For every batch \`b\`, query head \`h\`, query position \`i\` (0-based, \`S_q\` of them) and key position \`j\` (\`S_kv\` of them${cross ? "" : "; here S_kv == S_q"}):`,
    "",
    "```",
    "g = H // Hkv                                   # query heads per KV head",
    "s[i, j] = scale * dot(q[b, h, i, :], k[b, h // g, j, :])",
    ...(v.score ? ["s[i, j] = score_mod(s[i, j], b, h, i, j)"] : []),
    ...(v.mask
      ? [
          "visible(i, j) = mask_mod(b, h, i, j)",
          "p[i, j] = exp(s[i, j]) / sum over visible j' of exp(s[i, j'])   for visible j, else 0 (a row with no visible key gives 0)",
        ]
      : ["p[i, j] = exp(s[i, j]) / sum over all j' of exp(s[i, j'])"]),
    "out[b, h, i, :] = sum over j of p[i, j] * v[b, h // g, j, :]",
    "```",
    "",
    `score_mod: ${where("score")}. mask_mod: ${where("mask")}.`,
    ...args.notes.map((n) => `Note: ${n}`),
    "",
    ...(args.structure?.length
      ? [
          "## Structure kforge's analysis found in these mods",
          "",
          "Facts about the functions above that a fast kernel can exploit (read off their traced form; each holds for every input):",
          "",
          ...args.structure.map((n) => `- ${n}`),
          "",
        ]
      : []),
    "## The variant, as its author wrote it",
    "",
    ...files.flatMap((f) => [`\`${f}\`:`, "", "```python", readFileSync(join(args.folder, f), "utf8").trimEnd(), "```", ""]),
    ...(v.irError ? [`(kforge's offline template cannot compile these mods: ${v.irError})`, ""] : []),
    "## Interface",
    "",
    "Write one Python module that defines",
    "",
    "```python",
    `def attention(${sig}) -> torch.Tensor:`,
    "```",
    "",
    `- \`q\` is \`[B, H, S_q, D]\`; \`k\` and \`v\` are \`[B, Hkv, S_kv, D]\`; all \`torch.${dtype}\` ${cpu ? "CPU" : "CUDA"} tensors (Hkv divides H).`,
    "- `scale` is the softmax scale (1/sqrt(D) in the benchmarks).",
    ...(captured.length
      ? [
          `- The tensors the mods capture arrive as keyword arguments, on the ${cpu ? "CPU" : "GPU"}, rebuilt for every shape and seed (read them on every call, never modify them):`,
          ...captured.map((c) => `  - ${describeCaptured(c)}`),
        ]
      : ["- The mods capture no tensors."]),
    `- Return a new ${dtype} tensor \`[B, H, S_q, D]\`; never write into or return one of the inputs.`,
    ...(cpu
      ? [`- ${cpuLaneRules()}`]
      : [
          "- Do the work in your own kernels: Triton (`@triton.jit`) or CUDA C++ built with `torch.utils.cpp_extension.load_inline`. PyTorch may only allocate, reshape and launch. Don't call `scaled_dot_product_attention` or `flex_attention`, and don't compute the attention with PyTorch ops (`matmul`, `softmax`, ...).",
          "- No caching of results between calls, no work on side streams or threads.",
        ]),
    "",
    "## Shapes, correctness and speed",
    "",
    `- Benchmarked at ${spec.shapes.benchmark.map((s) => `\`${s.B}, ${s.H}${s.Hkv && s.Hkv !== s.H ? `/${s.Hkv}` : ""}, ${s.S}${s.Skv && s.Skv !== s.S ? `:${s.Skv}` : ""}, ${s.D}\``).join(" and ")} (B, H[/Hkv], S_q[:S_kv], D), ${dtype}, against ${cpu ? CPU_BASELINE : "compiled FlexAttention running the functions above"}. Speed is what you are optimising.`,
    `- Correctness is checked first, on small shapes with S_q[:S_kv] in {${seqs.join(", ")}} (not all multiples of a block size), several random inputs and seeds: compared with a high-precision evaluation of the mods, the largest error must be at most twice the error of the same math done naively in ${dtype}, plus ${spec.atol}.`,
    "- Every output must be finite.",
    "",
  ].join("\n");
}
