/**
 * The one place the profiler starts a process (ncu, which starts the candidate's Python): the
 * environment the caller built with the verifier's `scrubbedEnv`, the OS sandbox of tools/sandbox (the
 * verifier's, with the GPU nodes), a time limit that kills the whole process group. The verifier's
 * HarnessProcess speaks the harness protocol; ncu needs a plain run-to-completion, hence this.
 */
import { spawn } from "node:child_process";
import { sandboxArgv } from "../sandbox/sandbox.ts";

/** One command to run in the sandbox. */
export interface SandboxSpec {
  argv: string[];
  cwd: string;
  /** The complete environment of the child (nothing is inherited). */
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Run inside the OS sandbox with `python` as its launcher (cwd is its writable dir); null runs unconfined. */
  sandbox: { python: string; home: string; dbPath: string; gpu: boolean; ro?: string[]; rw?: string[] } | null;
  /** Keep at most this many characters of each stream (the tail; default 200k). */
  maxOutputChars?: number;
}

/** How a sandboxed command ended, with the tails of its output. */
export interface SandboxExit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: { code: string; message: string };
  ms: number;
  /** Whether the child ran inside the OS sandbox. */
  sandboxed: boolean;
}

/** Runs one sandboxed command to completion; never throws for the child's failures. */
export function runSandboxed(spec: SandboxSpec): Promise<SandboxExit> {
  const started = performance.now();
  const max = spec.maxOutputChars ?? 200_000;
  const sb = spec.sandbox;
  const argv = sb ? sandboxArgv(sb.python, sb, { workdir: spec.cwd, gpu: sb.gpu, ro: sb.ro ?? [], rw: sb.rw ?? [] }, spec.argv) : spec.argv;
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: spec.cwd, env: spec.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, spec.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    spec.signal?.addEventListener("abort", onAbort, { once: true });
    const keep = (acc: string, chunk: Buffer) => {
      const s = acc + chunk.toString("utf8");
      return s.length > max ? s.slice(s.length - max) : s;
    };
    child.stdout?.on("data", (c: Buffer) => (stdout = keep(stdout, c)));
    child.stderr?.on("data", (c: Buffer) => (stderr = keep(stderr, c)));
    const finish = (code: number | null, signal: string | null, spawnError?: SandboxExit["spawnError"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener("abort", onAbort);
      killGroup(); // stray grandchildren of a finished run
      resolve({
        code,
        signal,
        stdout,
        stderr,
        timedOut,
        aborted,
        ...(spawnError ? { spawnError } : {}),
        ms: performance.now() - started,
        sandboxed: sb !== null,
      });
    };
    child.on("error", (err: NodeJS.ErrnoException) => finish(null, null, { code: err.code ?? "ERROR", message: err.message }));
    child.on("close", (code, signal) => finish(code, signal));
    if (spec.signal?.aborted) onAbort();
  });
}
