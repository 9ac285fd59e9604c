/** What the harness's Python offers (torch, triton, GPUs), asked once per interpreter with `run_candidate.py --probe`. */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { z } from "zod";
import { repoRoot } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";

export const PythonProbe = z.object({
  python: z.string(),
  executable: z.string(),
  torch: z.string().optional(),
  cuda: z.boolean().optional(),
  gpus: z.array(z.string()).optional(),
  torch_site: z.string().optional(),
  torch_error: z.string().optional(),
  triton: z.string().optional(),
  triton_site: z.string().optional(),
  triton_error: z.string().optional(),
});
export type PythonProbe = z.infer<typeof PythonProbe>;

/** The harness entry point (run_candidate.py) inside the repository or bundle. */
export function harnessScript(): string {
  return join(repoRoot(), "tools", "verifier", "harness", "run_candidate.py");
}

/** What to do about a verifier Python that is missing or lacks PyTorch. */
export const PYTHON_FIX = "set KFORGE_PYTHON to a Python 3 with PyTorch";

/**
 * Why `python` (KFORGE_PYTHON: a path, or a name looked up on PATH) cannot be started at all: not found, a
 * folder, not executable. Null when it can be (whether it is a Python with torch is the probe's question).
 */
export function pythonNotRunnable(python: string): string | null {
  const named = `KFORGE_PYTHON (${python})`;
  if (python.trim() === "") return "KFORGE_PYTHON is empty";
  let path: string;
  if (python.includes("/")) path = resolve(python);
  else {
    const found = (process.env["PATH"] ?? "")
      .split(delimiter)
      .filter((d) => d !== "")
      .map((d) => join(d, python))
      .find((p) => isExecutableFile(p));
    if (!found) return `${named} was not found on PATH`;
    path = found;
  }
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return `${named} was not found`;
  }
  if (!isFile) return `${named} is not a file`;
  if (!isExecutableFile(path)) return `${named} is not executable`;
  return null;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Throws a ConfigError saying what is wrong with KFORGE_PYTHON when it cannot be started at all. */
export function requirePython(python: string): void {
  const why = pythonNotRunnable(python);
  if (why) {
    throw new ConfigError(`${why}: ${PYTHON_FIX}`, {
      hint: "e.g. KFORGE_PYTHON=/usr/bin/python3 (in the environment, ./kforge.json or KFORGE_HOME/config.json; `kforge config` shows where it is set); `kforge doctor` checks it",
    });
  }
}

const probes = new Map<string, Promise<PythonProbe | { error: string }>>();

/** Probes `python` (cached per interpreter); `{ error }` when it cannot run at all. */
export function probePython(python: string, timeoutMs = 60_000): Promise<PythonProbe | { error: string }> {
  let p = probes.get(python);
  if (!p) {
    p = runProbe(python, timeoutMs);
    probes.set(python, p);
  }
  return p;
}

function runProbe(python: string, timeoutMs: number): Promise<PythonProbe | { error: string }> {
  return new Promise((resolve) => {
    let out = "";
    let err = "";
    const child = spawn(python, [harnessScript(), "--probe"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => {
      clearTimeout(timer);
      // ENOENT / EACCES of the interpreter itself: say which setting names it, not only the errno.
      resolve({ error: pythonNotRunnable(python) ?? `${python}: ${e.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(PythonProbe.parse(JSON.parse(line)));
      } catch {
        resolve({ error: `${python} --probe exited with ${code}: ${(err || out).trim().slice(-500)}` });
      }
    });
  });
}
