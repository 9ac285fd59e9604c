/** What the harness's Python offers (torch, triton, GPUs), asked once per interpreter with `run_candidate.py --probe`. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { z } from "zod";
import { repoRoot } from "../../core/config.ts";

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
      resolve({ error: `${python}: ${e.message}` });
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
