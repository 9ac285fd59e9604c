/** Loads a KernelBench problem file in place (`--problem kernelbench:PATH`): checked as text here, imported only in the sandbox. */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { ProblemError } from "../../core/errors.ts";
import { KernelBenchProblemSpec, type LoadedKernelBenchProblem } from "../schema.ts";
import { operatorFamilies } from "./families.ts";
import { kernelBenchPrompt } from "./prompt.ts";

/** The prefix that marks a KernelBench problem wherever a problem is named. */
export const KERNELBENCH_PREFIX = "kernelbench:";

/** Whether a --problem value names a KernelBench file. */
export function isKernelBenchRef(problem: string): boolean {
  return problem.startsWith(KERNELBENCH_PREFIX);
}

/** What the file must define, each with what to fix when it is missing. */
const REQUIRED: Array<[RegExp, string]> = [
  [/^class\s+Model\s*\(/m, "`class Model(nn.Module)` at module level"],
  [/^def\s+get_inputs\s*\(/m, "`def get_inputs()` at module level (the forward arguments)"],
  [/^def\s+get_init_inputs\s*\(/m, "`def get_init_inputs()` at module level (Model's constructor arguments)"],
];

/** A test fixture may ask for the CPU lane with this line; KernelBench's own files never carry it. */
const DEVICE_LINE = /^#\s*kforge:\s*device\s*=\s*(cpu|cuda)\s*$/m;

/** Loads `kernelbench:PATH` (or a bare PATH): the spec, the file's text and the prompt; errors say what to fix. */
export function loadKernelBenchProblem(ref: string): LoadedKernelBenchProblem {
  const path = resolve(isKernelBenchRef(ref) ? ref.slice(KERNELBENCH_PREFIX.length) : ref);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ProblemError(`${path}: no such KernelBench problem file`, {
      hint: "point at a file of your KernelBench checkout, e.g. kernelbench:KernelBench/KernelBench/level1/19_ReLU.py; `kforge problems kernelbench DIR` lists them",
    });
  }
  if (!path.endsWith(".py")) throw new ProblemError(`${path}: a KernelBench problem is a .py file`);
  const source = readFileSync(path, "utf8");
  const missing = REQUIRED.filter(([re]) => !re.test(source)).map(([, what]) => what);
  if (missing.length) {
    throw new ProblemError(`${path}: not a KernelBench problem file; it needs ${missing.join(", ")}`, {
      hint: "KernelBench's format: a Model module plus get_inputs() and get_init_inputs() (see problems/kernelbench/README.md)",
      context: { file: path },
    });
  }
  const stem = basename(path, ".py");
  const level = levelOf(path);
  const raw = {
    name: problemName(stem, level),
    description: describe(source, stem, level),
    kind: "kernelbench",
    level,
    file: path,
    families: operatorFamilies(stem, source),
    device: DEVICE_LINE.exec(source)?.[1] ?? "cuda",
  };
  const parsed = KernelBenchProblemSpec.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ProblemError(`${path}: cannot be described as a problem\n${lines.join("\n")}`, { context: { file: path, issues: lines } });
  }
  return {
    spec: parsed.data,
    dir: dirname(path),
    referencePath: path,
    referenceSource: source,
    prompt: kernelBenchPrompt(parsed.data, source),
    origin: "kernelbench",
  };
}

/** The N of the nearest enclosing `levelN` folder, or null. */
export function levelOf(path: string): number | null {
  const m = /(?:^|\/)level(\d+)\/[^/]+$/.exec(path);
  return m ? Number(m[1]) : null;
}

/** `level1/19_ReLU.py` -> `kb_l1_19_relu`: stable, and a valid problem name for runs, traces and memory. */
export function problemName(stem: string, level: number | null): string {
  const slug = stem
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `kb${level === null ? "" : `_l${level}`}_${slug || "problem"}`;
}

function describe(source: string, stem: string, level: number | null): string {
  const doc = /^class\s+Model\s*\([^)]*\)\s*:\s*\n\s*(?:"""|''')\s*([^\n]*?)\s*(?:"""|''')?\s*$/m.exec(source)?.[1]?.trim();
  const where = `KernelBench${level === null ? "" : ` level ${level}`} ${stem}`;
  return doc ? `${where}: ${doc}` : where;
}
