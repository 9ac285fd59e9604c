/** Finds the problem files of a KernelBench checkout: the repository, its KernelBench/ folder, or one levelN folder. */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ProblemError } from "../../core/errors.ts";
import type { LoadedKernelBenchProblem } from "../schema.ts";
import { loadKernelBenchProblem } from "./load.ts";

/** One listed file: loaded, or the reason it is not a problem (listed instead of failing the whole list). */
export interface KernelBenchEntry {
  path: string;
  level: number;
  problem?: LoadedKernelBenchProblem;
  error?: string;
}

/** The levelN folders under a checkout path, keyed by N. */
export function levelDirs(root: string): Map<number, string> {
  const abs = resolve(root);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new ProblemError(`${abs}: not a folder`, {
      hint: "give the path of your KernelBench checkout (git clone https://github.com/ScalingIntelligence/KernelBench)",
    });
  }
  const self = /(?:^|\/)level(\d+)\/?$/.exec(abs);
  if (self) return new Map([[Number(self[1]), abs]]);
  for (const base of [abs, join(abs, "KernelBench")]) {
    if (!existsSync(base)) continue;
    const found = new Map<number, string>();
    for (const n of readdirSync(base)) {
      const m = /^level(\d+)$/.exec(n);
      if (m && statSync(join(base, n)).isDirectory()) found.set(Number(m[1]), join(base, n));
    }
    if (found.size) return new Map([...found].sort((a, b) => a[0] - b[0]));
  }
  throw new ProblemError(`${abs}: no levelN folders here or under KernelBench/`, {
    hint: "give the KernelBench repository, its KernelBench/ folder or one levelN folder",
  });
}

/** Every problem file of the checkout (one level with `level`), in KernelBench's numeric order. */
export function listKernelBench(root: string, level?: number): KernelBenchEntry[] {
  const dirs = levelDirs(root);
  if (level !== undefined && !dirs.has(level)) {
    throw new ProblemError(`no level${level} folder in ${resolve(root)}`, { hint: `levels found: ${[...dirs.keys()].join(", ")}` });
  }
  const out: KernelBenchEntry[] = [];
  for (const [n, dir] of dirs) {
    if (level !== undefined && n !== level) continue;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".py") && !f.startsWith("_"))
      .sort(byNumber);
    for (const f of files) {
      const path = join(dir, f);
      try {
        out.push({ path, level: n, problem: loadKernelBenchProblem(path) });
      } catch (err) {
        out.push({ path, level: n, error: (err as Error).message.split("\n")[0] ?? String(err) });
      }
    }
  }
  return out;
}

function byNumber(a: string, b: string): number {
  const na = Number(/^(\d+)/.exec(a)?.[1] ?? Number.NaN);
  const nb = Number(/^(\d+)/.exec(b)?.[1] ?? Number.NaN);
  if (!Number.isNaN(na) && !Number.isNaN(nb) && na !== nb) return na - nb;
  return a.localeCompare(b);
}
