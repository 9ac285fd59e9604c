/** Loads and validates problems: the built-in suite (problems/<name>/) and the user's variants (KFORGE_HOME/problems). */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ProblemError } from "../core/errors.ts";
import { loadConfig, repoRoot } from "../core/config.ts";
import { ProblemSpec, type LoadedProblem } from "./schema.ts";

/** The folder holding the built-in problem suite. */
export function problemsDir(): string {
  return join(repoRoot(), "problems");
}

/** The one home of user variants: KFORGE_HOME/problems (`kforge problems new` and `search --score-mod` write here). */
export function userProblemsDir(home?: string): string {
  return join(home ?? loadConfig().home, "problems");
}

/** Where problems are looked up by name, in order: the suite, then the user's variants. */
export interface ProblemDirs {
  suite: string;
  user: string;
}

/** The default lookup folders (the suite, and KFORGE_HOME/problems from the environment). */
export function defaultDirs(): ProblemDirs {
  return { suite: problemsDir(), user: userProblemsDir() };
}

/** Names of every problem folder under `dir` (folders with a problem.json); none when dir does not exist. */
export function listProblemNames(dir = problemsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith(".") && statSync(join(dir, n)).isDirectory() && existsSync(join(dir, n, "problem.json")))
    .sort();
}

/** Loads a problem by name (the suite first, then the user's variants) or by path to its folder; errors name file and field. */
export function loadProblem(nameOrPath: string, dirs: ProblemDirs | string = defaultDirs()): LoadedProblem {
  const d: ProblemDirs = typeof dirs === "string" ? { suite: dirs, user: dirs } : dirs;
  let folder: string;
  let origin: LoadedProblem["origin"];
  if (nameOrPath.includes("/")) {
    folder = resolve(nameOrPath);
    origin = "path";
  } else {
    const inSuite = existsSync(join(d.suite, nameOrPath, "problem.json"));
    folder = join(inSuite ? d.suite : d.user, nameOrPath);
    origin = inSuite ? "suite" : "user";
  }
  const jsonPath = join(folder, "problem.json");
  if (!existsSync(jsonPath)) {
    const known = [...new Set([...listProblemNames(d.suite), ...listProblemNames(d.user)])].join(", ");
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
      context: { file: jsonPath, issues: lines },
    });
  }
  const referencePath = join(folder, "reference.py");
  const promptPath = join(folder, "prompt.md");
  for (const p of [referencePath, promptPath]) {
    if (!existsSync(p)) throw new ProblemError(`${p}: missing (every problem needs reference.py and prompt.md)`);
  }
  let referenceSource = readFileSync(referencePath, "utf8");
  if (!/def\s+reference\s*\(/.test(referenceSource)) {
    throw new ProblemError(`${referencePath}: no \`def reference(q, k, v, *, scale, **params)\` found`);
  }
  if (parsed.data.name !== folderName(folder)) {
    throw new ProblemError(`${jsonPath}: name "${parsed.data.name}" does not match its folder "${folderName(folder)}"`);
  }
  // A variant's spec is its own files: the model reads them as the reference, and the baseline cache keys on them.
  for (const f of parsed.data.variant?.files ?? []) {
    const path = join(folder, f);
    if (!existsSync(path)) throw new ProblemError(`${path}: missing (problem.json's variant.files names it)`);
    if (f.endsWith(".py")) referenceSource += `\n\n# ---- ${f} (the user's variant file, unchanged) ----\n${readFileSync(path, "utf8")}`;
  }
  return { spec: parsed.data, dir: folder, referencePath, referenceSource, prompt: readFileSync(promptPath, "utf8"), origin };
}

function folderName(p: string): string {
  return p.replace(/\/+$/, "").split("/").pop() ?? p;
}

/** Loads every problem under dirs: the suite by default; with ProblemDirs, the suite then the user's variants (a suite name shadows a user variant). */
export function loadAllProblems(dirs: ProblemDirs | string = problemsDir()): LoadedProblem[] {
  const d: ProblemDirs = typeof dirs === "string" ? { suite: dirs, user: dirs } : dirs;
  const suite = listProblemNames(d.suite);
  const user = d.user === d.suite ? [] : listProblemNames(d.user).filter((n) => !suite.includes(n));
  return [...suite.map((n) => loadProblem(n, d)), ...user.map((n) => ({ ...loadProblem(join(d.user, n), d), origin: "user" as const }))];
}
