/** The problem section of every KernelBench prompt: the reference file, what ModelNew receives, where it runs. */
import { defBlocks } from "../../memory/python-tokens.ts";
import type { LoadedKernelBenchProblem } from "../../problems/schema.ts";
import { render } from "../render.ts";
import { KB_PROBLEM } from "./prompt.ts";

/** The problem as the planner, coder and critic read it (`gpu`: the GPU the verifier probed, or a placeholder). */
export function kernelBenchProblemText(p: LoadedKernelBenchProblem, gpu: string): string {
  const onCpu = p.spec.device === "cpu";
  return render(KB_PROBLEM, {
    name: p.spec.name,
    description: p.spec.description,
    families: p.spec.families.join(", "),
    where: onCpu ? "the CPU (a test problem)" : gpu,
    deviceNote: onCpu ? " On the CPU lane PyTorch ops stand in for kernels (allowed here only)." : "",
    file: p.spec.file,
    reference: p.referenceSource.trim(),
    initInputs: returned(p.referenceSource, "get_init_inputs"),
    inputs: returned(p.referenceSource, "get_inputs"),
  });
}

/** "returns `[x]`" from a builder's return statement (read as text, never run), with the module's constants it uses. */
function returned(source: string, fn: string): string {
  const body = defBlocks(source).get(fn);
  const ret = body ? /^\s*return\s+(.+)$/m.exec(body)?.[1]?.trim() : undefined;
  if (!ret) return "see the file";
  const consts = [...source.matchAll(/^([A-Za-z_]\w*)\s*=\s*(.+)$/gm)].filter(([, name]) => new RegExp(`\\b${name}\\b`).test(body ?? ""));
  return `returns \`${ret}\`${consts.length ? ` (${consts.map(([, n, v]) => `${n} = ${v!.trim()}`).join(", ")})` : ""}`;
}
