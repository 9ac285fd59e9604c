/** The candidate contract, word for word the same in every prompt that asks for or judges a kernel. */
import { bulletLines, CPU_BASELINE, CPU_LANE, cpuLaneRules, onCpuLane } from "../problems/device-text.ts";
import type { LoadedProblem } from "../problems/schema.ts";

/** The exact interface a candidate module must implement, with this problem's params. */
export function candidateContract(problem: LoadedProblem): string {
  // a variant's keyword arguments are the tensors its mods capture (problems/inputs-text.ts describes them)
  const params: [string, unknown][] = [
    ...Object.entries(problem.spec.params),
    ...(problem.spec.variant?.captured ?? []).map((c): [string, unknown] => [c.name, `captured:${c.dtype}[${c.dims.join(", ")}]`]),
  ];
  const paramLines = params.length
    ? params.map(([name, v]) => `  - \`${name}\`: ${describeParam(v)}`).join("\n")
    : "  - (none: the call gets only q, k, v and scale)";
  const cpu = onCpuLane(problem.spec);
  return [
    "A candidate is ONE self-contained Python module that defines",
    "",
    "    def attention(q, k, v, *, scale: float, **params) -> torch.Tensor",
    "",
    ...(cpu ? [`- The problem runs on ${CPU_LANE}.`] : []),
    "- q is [B, Hq, S, D]; k and v are [B, Hkv, S, D] (Hkv divides Hq: query head h reads kv head h // (Hq // Hkv)).",
    `- dtype ${problem.spec.dtype}, contiguous, ${cpu ? "CPU tensors" : "on the GPU"}; return a new [B, Hq, S, D] tensor of the same dtype.`,
    "- scale is the softmax scale (1/sqrt(D) unless the problem says otherwise); scores are (q @ k^T) * scale.",
    "- params of this problem (passed as keyword arguments):",
    paramLines,
    ...(cpu
      ? bulletLines(cpuLaneRules(), 108)
      : [
          "- The work must be done by the module's own kernels: Triton (`@triton.jit`) or CUDA C++ via",
          "  `torch.utils.cpp_extension.load_inline`. PyTorch may only allocate, reshape and launch; calling",
          "  scaled_dot_product_attention, flex_attention, torch matmul/softmax for the attention itself, caching",
          "  outputs between calls, side streams or threads, touching timers or mutating the inputs is rejected.",
        ]),
    "- Every output element must be written and finite. Sequence lengths are not always multiples of the",
    "  block size: mask the tails.",
    "- Correctness: max|out - golden| <= 2 * max|bf16 reference - golden| + atol, on several shapes",
    `  (${problem.spec.shapes.correctness.map(fmtShape).join(", ")}) and random seeds.`,
    `- Speed is measured on ${problem.spec.shapes.benchmark.map(fmtShape).join(" and ")} against ${cpu ? CPU_BASELINE : problem.spec.baseline === "flex" ? "compiled FlexAttention" : "SDPA"}.`,
  ].join("\n");
}

function describeParam(v: unknown): string {
  if (typeof v === "number") return `the number ${v}`;
  if (v === "alibi") return "a float32 [Hq] tensor of ALiBi slopes, slope[h] = 2^(-8(h+1)/Hq)";
  if (typeof v === "string" && v.startsWith("random_docs")) return "an int32 [S] tensor of document ids (non-decreasing)";
  if (typeof v === "string" && v.startsWith("captured:")) return `a ${v.slice(9)} tensor the mods capture (an input: never modify it)`;
  return JSON.stringify(v);
}

/** "B=2 H=8 S=128 D=64" style label of a shape. */
export function fmtShape(s: { B: number; H: number; Hkv?: number | undefined; S: number; D: number }): string {
  return `B=${s.B} H=${s.H}${s.Hkv && s.Hkv !== s.H ? ` Hkv=${s.Hkv}` : ""} S=${s.S} D=${s.D}`;
}
