/**
 * A problem travels with its jobs as the text files of its folder, so a worker runs suite problems, test
 * problems and the user's variants (KFORGE_HOME/problems) alike. The worker writes them once per content
 * hash under its own KFORGE_HOME and loads them with the ordinary loader.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProblemError } from "../../core/errors.ts";
import { loadProblem } from "../../problems/load.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { type ProblemFiles, sha256 } from "./protocol.ts";

/** A problem folder larger than this is refused (captured tensors are recipes, not data: folders are small). */
export const MAX_PROBLEM_BYTES = 4 * 1024 * 1024;

/** The folder's regular files as text, hashed. */
export function packProblem(problem: LoadedProblem): ProblemFiles {
  const files: Record<string, string> = {};
  let bytes = 0;
  for (const name of readdirSync(problem.dir).sort()) {
    const path = join(problem.dir, name);
    if (!statSync(path).isFile() || !/^[\w.-]+$/.test(name)) continue;
    bytes += statSync(path).size;
    if (bytes > MAX_PROBLEM_BYTES)
      throw new ProblemError(`problem folder ${problem.dir} is over ${MAX_PROBLEM_BYTES} bytes: too large to send to workers`);
    files[name] = readFileSync(path, "utf8");
  }
  // The spec as loaded (e.g. --shapes applied) wins over the file on disk.
  files["problem.json"] = `${JSON.stringify(problem.spec, null, 1)}\n`;
  return { name: problem.spec.name, files, sha256: filesDigest(files) };
}

/** Writes the files under `root` (once per content hash) and loads the problem from there. */
export function unpackProblem(p: ProblemFiles, root: string): LoadedProblem {
  if (filesDigest(p.files) !== p.sha256) throw new ProblemError(`problem ${p.name}: its files do not match their sha256`);
  if (!/^[\w.-]+$/.test(p.name)) throw new ProblemError(`problem name "${p.name}" is not a plain folder name`);
  const dir = join(root, p.sha256.slice(0, 16), p.name); // the loader wants the folder named as the problem
  if (!existsSync(join(dir, "problem.json"))) {
    mkdirSync(join(root, p.sha256.slice(0, 16)), { recursive: true });
    const tmp = `${dir}.${process.pid}.tmp`;
    mkdirSync(tmp, { recursive: true });
    for (const [name, text] of Object.entries(p.files)) writeFileSync(join(tmp, name), text);
    try {
      renameSync(tmp, dir); // atomic: a second worker on this host sees all of it or none
    } catch {
      if (!existsSync(join(dir, "problem.json"))) throw new ProblemError(`cannot write problem ${p.name} under ${root}`);
    }
  }
  return loadProblem(dir);
}

function filesDigest(files: Record<string, string>): string {
  return sha256(JSON.stringify(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
