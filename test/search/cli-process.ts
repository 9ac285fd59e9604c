/** Spawning `node bin/kforge.js ...` as a real child process against a scripted model server and a temp home. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";
import { seededRandom } from "../../core/random.ts";
export { seededRandom };

export const KFORGE = join(repoRoot(), "bin", "kforge.js");

/** The environment of a kforge child: the scripted server as the model, a Python with torch, its own home. */
export function kforgeEnv(home: string, baseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    KFORGE_HOME: home,
    KFORGE_PYTHON: torchPython(),
    KFORGE_PROVIDER: "openai-compatible",
    KFORGE_BASE_URL: baseUrl,
    KFORGE_MODEL: "scripted-model",
    NO_COLOR: "1",
  };
}

/** A running kforge child with its collected output. */
export interface Kforge {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
}

/** Starts `kforge ...args`. */
export function startKforge(args: string[], env: NodeJS.ProcessEnv): Kforge {
  const child = spawn(process.execPath, [KFORGE, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `kforge ...args` to completion. */
export async function runKforge(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const k = startKforge(args, env);
  const code = await k.exited;
  return { code, stdout: k.stdout(), stderr: k.stderr() };
}
