/** The problem text a model reads for a KernelBench problem: the task and the exact ModelNew contract. */
import type { KernelBenchProblemSpec } from "../schema.ts";

const DISTRIBUTION_TEXT: Record<string, string> = {
  kernelbench: "get_inputs() exactly as the file writes it",
  normal: "every floating input redrawn from N(0, 1)",
  signed: "every floating input redrawn from U(-2, 2)",
  outliers: "N(0, 1) with about 0.1% of the values replaced by outliers of magnitude 100 or more (at least one positive)",
};

/** The prompt of one KernelBench problem (its reference source is shown beside it by the agents). */
export function kernelBenchPrompt(spec: KernelBenchProblemSpec, _source: string): string {
  const onCpu = spec.device === "cpu";
  return [
    `# ${spec.description} (\`${spec.name}\`)`,
    "",
    `Write a faster drop-in replacement for the PyTorch module \`Model\` in \`${spec.file}\` (the reference below).`,
    `Operator families: ${spec.families.join(", ")}.`,
    "",
    kernelBenchContract(spec),
    ...(onCpu ? ["", "This problem runs on the CPU so the verifier's path can be tested without a GPU: PyTorch ops are allowed here."] : []),
  ].join("\n");
}

/** The ModelNew contract, word for word the same in every prompt that asks for or judges a candidate. */
export function kernelBenchContract(spec: KernelBenchProblemSpec): string {
  const k = spec.kbTolerance;
  return [
    "A candidate is ONE self-contained Python module that defines",
    "",
    "    class ModelNew(torch.nn.Module):",
    "        def __init__(self, *get_init_inputs()): ...",
    "        def forward(self, *get_inputs()): ...   # returns what Model.forward returns",
    "",
    "- ModelNew is built with the same arguments as Model, right after the same torch.manual_seed, so parameters",
    "  created in the same order (e.g. through nn.Linear / nn.Conv2d used only as parameter holders) start equal;",
    "  when ModelNew's state_dict has Model's keys and shapes it is loaded from Model's.",
    "- The work must be done by the module's own kernels: Triton (`@triton.jit`, launched as `kernel[grid](...)`) or",
    "  CUDA C++ via `torch.utils.cpp_extension.load_inline`. PyTorch may only allocate, reshape and launch.",
    "  Rejected: calling torch ops or nn layers for the computation (torch.nn.functional, self.linear(x), x @ w),",
    "  subclassing, building or calling `Model`, a kernel that is defined but never launched, side streams, CUDA",
    "  graphs, threads, lazy or tensor-subclass outputs, touching timers, caching results between calls, mutating",
    "  inputs or computing in lower precision than the reference (bf16/fp16 where Model is fp32).",
    `- Correctness, on ${spec.seeds} seeds x these input distributions: ${spec.distributions.map((d) => DISTRIBUTION_TEXT[d] ?? d).join("; ")}.`,
    `  Both rules must hold: KernelBench's, torch.allclose(out, Model(x), atol=${k.atol}, rtol=${k.rtol}); and kforge's,`,
    `  max|out - golden| <= 2 * max|Model(x) - golden| + ${spec.relTolerance} * rms(golden), golden = Model in float64.`,
    "  Outputs are poisoned beforehand (unwritten memory reads as NaN), inputs must come back unchanged, and the output",
    "  is fingerprinted when forward returns and checked again later (it must not change afterwards).",
    "- Speed: the median time of forward on get_inputs()-shaped inputs against the eager Model and against",
    "  torch.compile(Model), timed in the same process with CUDA events and a device-wide synchronisation.",
  ].join("\n");
}
