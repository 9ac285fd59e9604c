/**
 * How kforge starts any process that imports hostile code (candidate kernels, user variant files): through
 * tools/sandbox/launch.py, which builds PID, mount and network namespaces, a read-only root with only the
 * process's temp dir writable, an unprivileged uid, seccomp and resource limits, and dies with its parent.
 * This module builds that command line, probes once whether the sandbox works here, and refuses to run
 * candidates without it unless the user opted out by name (KFORGE_UNSAFE_NO_SANDBOX=1).
 */
import { spawn } from "node:child_process";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { repoRoot, type Config } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { sandboxDir } from "./spec.ts";
import { QUOTED_ANSWER_CHARS } from "../../core/limits.ts";
import { pythonNotRunnable, requirePython } from "../verifier/python-env.ts";

/** What a sandboxed process may see besides the system: read-only paths, writable paths, paths to mask. */
export interface SandboxMounts {
  workdir: string;
  gpu: boolean;
  ro?: string[];
  rw?: string[];
}

/** The paths a sandbox always masks and shows for this configuration. */
export function defaultMounts(config: Pick<Config, "home" | "dbPath">): { ro: string[]; hide: string[] } {
  const root = repoRoot();
  return {
    ro: [join(root, "tools"), join(root, "problems")],
    hide: [...new Set([homedir(), config.home, dirname(config.dbPath), root])],
  };
}

/** argv that runs `command` inside the sandbox with `python` (the harness interpreter) as the launcher. */
export function sandboxArgv(
  python: string,
  config: Pick<Config, "home" | "dbPath">,
  m: SandboxMounts,
  command: string[],
  opts: { userns?: boolean } = {},
): string[] {
  const d = defaultMounts(config);
  const args = [python, "-I", join(sandboxDir(), "launch.py"), "--workdir", m.workdir, "--parent-pid", String(process.pid)];
  if (m.gpu) args.push("--gpu");
  if (opts.userns) args.push("--userns");
  for (const p of [...d.ro, ...(m.ro ?? [])]) args.push("--ro", p);
  for (const p of m.rw ?? []) args.push("--rw", p);
  for (const p of d.hide) args.push("--hide", p);
  return [...args, "--", ...command];
}

export const SandboxProbe = z.object({
  ok: z.boolean(),
  mode: z.enum(["root", "userns"]).nullable(),
  layers: z.record(z.string(), z.boolean()),
  error: z.string().optional(),
  /** The launcher's Python (KFORGE_PYTHON) could not be started: the sandbox was not tried, nothing says it is broken. */
  pythonMissing: z.boolean().optional(),
});
export type SandboxProbe = z.infer<typeof SandboxProbe>;

const probes = new Map<string, Promise<SandboxProbe>>();

/** Builds a real sandbox once per interpreter and reports which layers a process inside observed. */
export function probeSandbox(python: string): Promise<SandboxProbe> {
  let p = probes.get(python);
  if (!p) {
    p = new Promise((resolve) => {
      let out = "";
      const child = spawn(python, ["-I", join(sandboxDir(), "launch.py"), "--probe"], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", (e) => {
        // The interpreter itself did not start (ENOENT, EACCES): that says nothing about the sandbox.
        const missing = pythonNotRunnable(python);
        resolve({ ok: false, mode: null, layers: {}, error: missing ?? `${python}: ${e.message}`, ...(missing ? { pythonMissing: true } : {}) });
      });
      child.on("close", (code) => {
        try {
          resolve(SandboxProbe.parse(JSON.parse(out.trim().split("\n").pop() ?? "")));
        } catch {
          resolve({ ok: false, mode: null, layers: {}, error: `the sandbox probe exited with ${code}: ${out.slice(-QUOTED_ANSWER_CHARS)}` });
        }
      });
    });
    probes.set(python, p);
  }
  return p;
}

/** How candidates will be isolated here: "sandbox", or "unsafe" when the user opted out by name. Throws otherwise. */
export async function requireSandbox(python: string, unsafeNoSandbox: boolean): Promise<"sandbox" | "unsafe"> {
  // A missing interpreter is not a broken sandbox: name the setting, and never suggest running unconfined for it.
  requirePython(python);
  const probe = await probeSandbox(python);
  if (probe.ok) return "sandbox";
  if (unsafeNoSandbox) {
    process.stderr.write(
      `\n!!! KFORGE_UNSAFE_NO_SANDBOX=1: candidate kernels run WITHOUT the OS sandbox (${probe.error ?? "layers missing"}). They can read your files and keys. !!!\n\n`,
    );
    return "unsafe";
  }
  const missing = Object.entries(probe.layers)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  throw new ConfigError(
    `kforge will not run candidate kernels here: the OS sandbox does not work (${probe.error ?? `missing layers: ${missing.join(", ")}`})`,
    {
      hint: "run as root, or enable unprivileged user namespaces; `kforge doctor` shows each layer. To run anyway (UNSAFE: generated code can read your keys and files), set KFORGE_UNSAFE_NO_SANDBOX=1",
    },
  );
}
