/** Operator families of a KernelBench module, read from its source (nothing is executed): memory relates problems by these. */

/** Every family a problem can have ("other" when the code names none), in FAMILIES' order. */
export const OPERATOR_FAMILIES = [
  "attention",
  "conv",
  "matmul",
  "softmax",
  "norm",
  "pooling",
  "loss",
  "reduction",
  "activation",
  "elementwise",
  "other",
] as const;
export type OperatorFamily = (typeof OPERATOR_FAMILIES)[number];

/** Each family and the words (PyTorch calls, nn layers, file-name parts) that name it, most specific first. */
const FAMILIES: Array<[OperatorFamily, RegExp]> = [
  ["attention", /attention|\bsdpa\b/i],
  ["conv", /conv(?:.?transpose)?\d?d?|\bconv\b/i],
  ["matmul", /matmul|\bgemm\b|\bbmm\b|\bmm\b|\baddmm\b|\blinear\b|einsum|matrix.?mult/i],
  ["softmax", /softmax/i],
  ["norm", /(?:batch|layer|instance|group|rms).?norm|\bnorm\b|normali[sz]/i],
  ["pooling", /pool/i],
  ["loss", /loss|cross.?entropy|kl.?div|cosine.?similarity|hinge|triplet|squared.?error|\bmse\b|huber/i],
  ["reduction", /\b(?:sum|mean|prod|amax|amin|argmax|argmin|cumsum|cumprod|logsumexp)\b|reduc|\bmax\b|\bmin\b|scan/i],
  ["activation", /relu|gelu|sigmoid|tanh|swish|silu|\belu\b|selu|softplus|softsign|hardtanh|hardswish|hardsigmoid|mish|leaky/i],
  ["elementwise", /\bclamp\b|\bscale\b|\bbias\b|\badd\b|\bmul\b|\bdiv\b|residual/i],
];

/**
 * The families a module uses: the file name's first family leads (KernelBench names files after the operator or the
 * fused chain, `12_Gemm_Bias_GELU`), then every family the code mentions in source order; ["other"] when none.
 */
export function operatorFamilies(fileStem: string, source: string): string[] {
  const found: string[] = [];
  const stem = fileStem.replace(/^\d+_/, "").replace(/_/g, " ");
  // A loss or attention names the whole computation ("Mean squared error" is a loss before it is a mean).
  const lead = (f: string) => (f === "loss" || f === "attention" ? -1 : 0);
  const fromName = FAMILIES.map(([f, re]) => ({ f, at: stem.search(re) }))
    .filter((x) => x.at >= 0)
    .sort((a, b) => lead(a.f) - lead(b.f) || a.at - b.at);
  for (const x of fromName) if (!found.includes(x.f)) found.push(x.f);
  const code = moduleCode(source);
  const fromCode = FAMILIES.map(([f, re]) => ({ f, at: code.search(re) }))
    .filter((x) => x.at >= 0)
    .sort((a, b) => a.at - b.at);
  for (const x of fromCode) if (!found.includes(x.f)) found.push(x.f);
  return found.length ? found : ["other"];
}

/** The module's code without comments, docstrings and the input builders (get_inputs mentions torch.rand, not ops). */
function moduleCode(source: string): string {
  const noInputs = source.split(/^def\s+get_(?:init_)?inputs\s*\(/m)[0] ?? source;
  return noInputs
    .replace(/"""[\s\S]*?"""|'''[\s\S]*?'''/g, " ")
    .replace(/#.*$/gm, " ")
    .replace(/^\s*(?:import|from)\s.*$/gm, " ");
}
