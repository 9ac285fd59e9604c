/** The short text every prompt includes about what attention(...) receives: dtypes, lengths, params, captured tensors. */
import { onCpuLane } from "./device-text.ts";
import type { CapturedTensor, LoadedProblem } from "./schema.ts";

const DIM_WORDS: Record<string, string> = { B: "B", H: "H", Hkv: "Hkv", S: "S", S_q: "S_q", Skv: "S_kv", D: "D" };

/** A captured tensor as "`name`: dtype [dims]". */
export function describeCaptured(c: CapturedTensor): string {
  const dims = c.dims.map((d) => (typeof d === "number" ? String(d) : (DIM_WORDS[d] ?? d.replace(/\bSkv\b/g, "S_kv")))).join(", ");
  return `\`${c.name}\`: ${c.dtype} [${dims}]`;
}

/** What attention(...) receives for this problem, as a few Markdown lines. */
export function describeInputs(problem: LoadedProblem): string {
  const { spec } = problem;
  const dtype = spec.dtype === "fp16" ? "torch.float16" : "torch.bfloat16";
  const shapes = [...spec.shapes.correctness, ...spec.shapes.benchmark];
  const cross = shapes.some((s) => s.Skv !== undefined && s.Skv !== s.S);
  const on = onCpuLane(spec) ? "on the CPU (this problem runs on the CPU lane: no GPU)" : "on the GPU";
  const lines = [
    "## Inputs of attention(...)",
    `- q is [B, H, S_q, D]; k and v are [B, Hkv, S_kv, D]; all ${dtype}, contiguous, ${on}; return a new ${dtype} [B, H, S_q, D].`,
    cross
      ? `- S_kv differs from S_q at some shapes (${shapes
          .filter((s) => s.Skv !== undefined && s.Skv !== s.S)
          .map((s) => `S_q=${s.S} S_kv=${s.Skv}`)
          .join(", ")}): q_idx runs over S_q, kv_idx over S_kv.`
      : "- S_q == S_kv at every shape of this problem (don't assume it in general).",
  ];
  const captured = spec.variant?.captured ?? [];
  if (spec.variant) {
    if (captured.length) {
      lines.push(
        `- The tensors the mods capture arrive as keyword arguments under these names, on the ${onCpuLane(spec) ? "CPU" : "GPU"}, built for each shape and seed`,
        "  by the variant's own code (the same tensors FlexAttention's mods read). They are inputs: read them, never modify them",
        "  (a changed input is rejected), and read them afresh on every call (their values change between calls):",
        ...captured.map((c) => `  - ${describeCaptured(c)}`),
      );
    } else lines.push("- The mods capture no tensors: attention(...) gets only q, k, v and scale.");
    lines.push("- Numbers in the variant file are constants of the problem: write them into your kernel.");
  } else {
    const params = Object.entries(spec.params);
    if (params.length)
      lines.push(
        `- Keyword arguments besides scale: ${params.map(([n, v]) => `\`${n}\` (${typeof v === "number" ? `the number ${v}` : "a tensor, see above"})`).join(", ")}.`,
      );
  }
  return lines.join("\n");
}
