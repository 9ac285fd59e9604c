/**
 * What prompts say about where an attention problem's candidates run. GPU problems keep their own wording (in the
 * modules that use these); a problem with `device: "cpu"` runs on the verifier's CPU lane, whose rules differ: the
 * harness's static checks skip the PyTorch-compute rule there (static_checks.py, `device != "cpu"`), and no kernel
 * profile is taken (verify.py profiles on CUDA only), while every other static and dynamic rule still applies.
 */

/** Whether a problem runs on the CPU lane (a test problem: no GPU, no Triton). */
export function onCpuLane(spec: { device?: "cuda" | "cpu" | undefined }): boolean {
  return spec.device === "cpu";
}

/** The CPU lane in a few words. */
export const CPU_LANE = "kforge's CPU lane (a test problem verified on the CPU, without a GPU)";

/** PyTorch calls a CPU-lane candidate may compute with, as the prompts name them (the test checks each is accepted). */
export const CPU_ALLOWED_CALLS = ["torch.matmul", "torch.softmax", "torch.where", "`@`", ".exp()", ".masked_fill()"] as const;

/** APIs the harness still rejects on the CPU lane (static.forbidden_api), as the prompts name them. */
export const CPU_REJECTED_APIS = [
  "torch.nn (torch.nn.functional included)",
  "scaled_dot_product_attention",
  "flex_attention",
  "create_block_mask",
  "torch.compile",
  "torch.ops",
] as const;

/** What else is rejected on the CPU lane (static imports and patching, and the dynamic checks). */
const CPU_REJECTED_BEHAVIOUR = "threads or subprocesses, patching timers or libraries, caching results between calls, mutating the inputs";

/** The CPU lane's rules in one paragraph: what does the work, what is rejected. */
export function cpuLaneRules(): string {
  const allowed = `${CPU_ALLOWED_CALLS.slice(0, -2).join(", ")} and tensor methods such as ${CPU_ALLOWED_CALLS.slice(-2).join(" or ")}`;
  return (
    `Triton needs a GPU and is not available on the CPU lane: PyTorch ops may do the work there (${allowed} are allowed). ` +
    `Rejected: ${CPU_REJECTED_APIS.join(", ")}, ${CPU_REJECTED_BEHAVIOUR}.`
  );
}

/** `text` as "- " + lines of at most `width` characters, continued with two spaces (the contract's layout). */
export function bulletLines(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "-";
  for (const word of text.split(" ")) {
    if (line.length + 1 + word.length > width && line.trim() !== "-") {
      lines.push(line);
      line = " ";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** What a CPU-lane candidate's speed is measured against (baseline.py: the reference in float32, eager, on the CPU). */
export const CPU_BASELINE = "the problem's reference run eagerly in float32 on the CPU";

/** What the search writes, as the agents' system prompts name it. */
export function attentionKernels(spec: { device?: "cuda" | "cpu" | undefined }): string {
  return onCpuLane(spec) ? "attention kernels" : "GPU attention kernels";
}
