/**
 * The offline policy (no model) for a KernelBench problem. It is to start from the Triton code torch.compile
 * (Inductor) generates for the reference, extracted into a standalone ModelNew, and search its launch
 * configurations; that needs torch.compile, Triton and a CUDA GPU in the verifier's Python. Until the extraction is
 * built (see problems/kernelbench/README.md), a search of this kind needs a model; this says so before a run exists.
 */
import type { Config } from "../../core/config.ts";
import { ProblemError } from "../../core/errors.ts";
import type { LoadedKernelBenchProblem } from "../../problems/schema.ts";
import { probePython } from "../../tools/verifier/python-env.ts";

const MODEL_HINT =
  "configure a model for KernelBench problems: KFORGE_PROVIDER=openai-compatible KFORGE_BASE_URL=... KFORGE_MODEL=... (or DEEPSEEK_API_KEY)";

/** What the Inductor-seeded offline policy lacks here (each item names the missing piece), empty when nothing. */
export async function inductorMissing(config: Config, p: LoadedKernelBenchProblem): Promise<string[]> {
  const probe = await probePython(config.python);
  if ("error" in probe) return [`a working Python with torch at ${config.python} (${String(probe.error)})`];
  const missing: string[] = [];
  const major = Number(/^(\d+)/.exec(probe.torch ?? "")?.[1] ?? 0);
  if (!probe.torch) missing.push(`torch (${probe.torch_error ?? "not importable"})`);
  else if (major < 2) missing.push(`torch.compile (torch ${probe.torch} has none; PyTorch 2.0 or newer is needed)`);
  if (!probe.triton) missing.push(`Triton (${probe.triton_error ?? "not importable"}), which Inductor generates and ModelNew launches`);
  if (p.spec.device === "cpu") missing.push("a CUDA problem (this one runs on the CPU lane: Inductor's CPU code is C++, not Triton)");
  else if (!probe.cuda || !probe.gpus?.length) missing.push("a CUDA GPU visible to the verifier's Python");
  return missing;
}

/** Throws a ProblemError naming what is missing for the offline policy on this KernelBench problem. */
export async function requireKernelBenchOffline(config: Config, p: LoadedKernelBenchProblem): Promise<void> {
  const missing = await inductorMissing(config, p);
  const lead = `${p.spec.name}: no model is configured, and the offline policy for KernelBench problems starts from the Triton kernels torch.compile (Inductor) generates for the reference`;
  if (missing.length) {
    throw new ProblemError(`${lead}; this host lacks ${missing.join("; ")}`, {
      hint: `${MODEL_HINT}, or run on a GPU host with PyTorch 2.x and Triton`,
    });
  }
  throw new ProblemError(`${lead}; extracting Inductor's kernels into a standalone ModelNew is not built yet in this version`, { hint: MODEL_HINT });
}
