/**
 * Checks made before a search run is created (or resumed): can this host verify the problem's candidates at all?
 * A CUDA problem needs a GPU the verifier's Python sees; the offline policy (no model) writes Triton kernels, so it
 * needs Triton there. Without these checks the run is created, then fails at its baselines, or verifies every node
 * into "No module named 'triton'" and ends `done`. With a queue (KFORGE_QUEUE) the workers' Pythons verify, and
 * `kforge doctor` reports them: nothing is refused here then.
 */
import type { Config } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { probePython, PYTHON_FIX, requirePython, type PythonProbe } from "../../tools/verifier/python-env.ts";

/** What the checks need to know of the problem. */
export interface VerifiedProblem {
  name: string;
  device: "cuda" | "cpu";
  /** KernelBench problems: their offline policy has its own check (agents/kernelbench/offline.ts). */
  kernelBench: boolean;
}

const MODEL_SETTINGS = "DEEPSEEK_API_KEY=..., or KFORGE_PROVIDER=openai-compatible KFORGE_BASE_URL=... KFORGE_MODEL=...";

/** Throws a ConfigError naming what is missing and what to do, when this host cannot verify `problem`'s search. */
export async function requireVerifierFor(config: Config, problem: VerifiedProblem, opts: { offline: boolean }): Promise<void> {
  if (config.queue.url) return; // remote workers verify: their GPUs and Pythons are theirs
  requirePython(config.python);
  const probe = await probePython(config.python);
  if ("error" in probe)
    throw new ConfigError(`the verifier's Python does not run: ${probe.error}`, { hint: `${PYTHON_FIX}; \`kforge doctor\` checks it` });
  const where = `the verifier's Python (KFORGE_PYTHON=${config.python}`;
  if (!probe.torch)
    throw new ConfigError(`${where}) has no PyTorch (${probe.torch_error ?? "torch is not importable"})`, {
      hint: `${PYTHON_FIX}; \`kforge doctor\` checks it`,
    });
  if (problem.device === "cuda" && !hasGpu(config, probe)) {
    throw new ConfigError(`${problem.name} runs on a CUDA GPU, and ${where}, torch ${probe.torch}) sees none: no run was created`, {
      hint:
        "run on a GPU host (`kforge doctor` shows what this one has), or verify on remote GPU workers (KFORGE_QUEUE / --queue, see the README's Remote workers), " +
        'or search a CPU test problem ("device": "cpu"; `kforge problems new NAME --device cpu` makes one)',
    });
  }
  if (opts.offline && !problem.kernelBench && !probe.triton) {
    const lead = `no model is configured, so the offline policy would write ${problem.name}'s kernels, and it writes Triton kernels: Triton is not importable by ${where}: ${probe.triton_error ?? "no triton"}); no run was created`;
    throw new ConfigError(lead, {
      hint:
        problem.device === "cpu"
          ? `configure a model (${MODEL_SETTINGS}): on the CPU lane its kernels may use PyTorch ops; or run on a GPU host with Triton`
          : `install Triton for that Python, or configure a model (${MODEL_SETTINGS})`,
    });
  }
}

/** Whether the pool will find a GPU lane: CUDA available, and GPUs listed (or named by KFORGE_GPUS). */
function hasGpu(config: Config, probe: PythonProbe): boolean {
  return probe.cuda === true && ((probe.gpus?.length ?? 0) > 0 || (config.gpus?.length ?? 0) > 0);
}
