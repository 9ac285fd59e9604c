/** Loads and validates problems from problems/<name>/ (or any folder of the same shape). */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ProblemError } from "../core/errors.ts";
import { repoRoot } from "../core/config.ts";
import { ProblemSpec, type LoadedProblem } from "./schema.ts";

/** The folder holding the built-in problem suite. */
export function problemsDir(): string {
  return join(repoRoot(), "problems");
}

/** Names of every problem folder under `dir` (folders with a problem.json). */
export function listProblemNames(dir = problemsDir()): string[] {
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory() && existsSync(join(dir, n, "problem.json")))
    .sort();
}

/** Loads a problem by name (from the suite) or by path to its folder; errors name file and field. */
export function loadProblem(nameOrPath: string, dir = problemsDir()): LoadedProblem {
  const folder = nameOrPath.includes("/") ? resolve(nameOrPath) : join(dir, nameOrPath);
  const jsonPath = join(folder, "problem.json");
  if (!existsSync(jsonPath)) {
    const known = existsSync(dir) ? listProblemNames(dir).join(", ") : "";
    throw new ProblemError(`no problem "${nameOrPath}": ${jsonPath} does not exist`, {
      hint: known ? `known problems: ${known}` : "create one with `kforge problems new NAME --score-mod FILE`",
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(jsonPath, "utf8"));
  } catch (err) {
    throw new ProblemError(`${jsonPath}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = ProblemSpec.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
    throw new ProblemError(`${jsonPath}: invalid problem\n${lines.join("\n")}`, {
      hint: "see ARCHITECTURE.md (Problem contract) or an existing problem such as problems/softcap/problem.json",
      context: { file: jsonPath, issues: parsed.error.issues },
    });
  }
  const referencePath = join(folder, "reference.py");
  const promptPath = join(folder, "prompt.md");
  for (const p of [referencePath, promptPath]) {
    if (!existsSync(p)) throw new ProblemError(`${p}: missing (every problem needs reference.py and prompt.md)`);
  }
  const referenceSource = readFileSync(referencePath, "utf8");
  if (!/def\s+reference\s*\(/.test(referenceSource)) {
    throw new ProblemError(`${referencePath}: no \`def reference(q, k, v, *, scale, **params)\` found`);
  }
  if (parsed.data.name !== folderName(folder)) {
    throw new ProblemError(`${jsonPath}: name "${parsed.data.name}" does not match its folder "${folderName(folder)}"`);
  }
  return { spec: parsed.data, dir: folder, referencePath, referenceSource, prompt: readFileSync(promptPath, "utf8") };
}

function folderName(p: string): string {
  return p.replace(/\/+$/, "").split("/").pop() ?? p;
}

/** Loads every problem of the suite. */
export function loadAllProblems(dir = problemsDir()): LoadedProblem[] {
  return listProblemNames(dir).map((n) => loadProblem(n, dir));
}
