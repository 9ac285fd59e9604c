/**
 * One harness process: spawned ahead of its job (a warm spare: torch, Triton and CUDA already up), given
 * ONE job on stdin, watched with a time limit per phase, killed as a whole process group, its temp dir
 * removed. Events and the result arrive on fd 3 as JSON lines tagged with the job's nonce, so nothing
 * the candidate prints on stdout/stderr can pass for a result.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { ConfigError, ToolError } from "../../core/errors.ts";
import { harnessScript } from "./python-env.ts";
import { scrubbedEnv } from "./sandbox-env.ts";
import { sandboxArgv } from "../sandbox/sandbox.ts";
import { sandboxSpec } from "../sandbox/spec.ts";
import { claimTempDir } from "../sandbox/sweep.ts";
import { HarnessJob } from "./job.ts";
import { HARNESS_LOG_CHARS } from "../../core/limits.ts";

/** Seconds allowed per phase; `job` covers modes that announce no phases (baseline, reference_check). */
export interface PhaseLimits {
  start: number;
  static: number;
  import: number;
  compile: number;
  correctness: number;
  timing: number;
  job: number;
}

/** The phase limits of tools/sandbox/spec.json (shared with the Python driver). */
export const DEFAULT_LIMITS: PhaseLimits = sandboxSpec().phase_limits_s;

const LOG_TAIL = 16_000;

export interface SpawnOptions {
  python: string;
  device: "cuda" | "cpu";
  cudaVisibleDevices: string;
  secretNames: string[];
  pythonPath?: string[];
  sharedCacheDir?: string;
  tmpRoot?: string;
  /** The OS sandbox to start in (paths to mask come from here), or null when the user opted out by name. */
  sandbox: { home: string; dbPath: string; userns?: boolean; ro?: string[] } | null;
}

export interface ReadyInfo {
  pid: number;
  torch: string;
  gpu: string;
}

export type JobOutcome =
  | { kind: "result"; result: unknown; log: string }
  | { kind: "timeout"; phase: string; limitS: number; elapsedMs: number; log: string }
  | { kind: "died"; phase: string; code: number | null; signal: string | null; log: string }
  | { kind: "harness_error"; message: string; log: string }
  | { kind: "aborted" };

interface HarnessEvent {
  event: string;
  nonce?: string;
  [k: string]: unknown;
}

/** A spawned harness process and its one job. */
export class HarnessProcess {
  readonly workdir: string;
  readonly ready: Promise<ReadyInfo>;
  readonly spawnedAt = performance.now();
  private readonly child: ChildProcess;
  private log = "";
  private closed = false;
  private readonly closedPromise: Promise<{ code: number | null; signal: string | null }>;
  private listeners: Array<(e: HarnessEvent) => void> = [];

  constructor(opts: SpawnOptions) {
    this.workdir = mkdtempSync(join(opts.tmpRoot ?? tmpdir(), "kforge-cand-"));
    claimTempDir(this.workdir);
    if (opts.sharedCacheDir) mkdirSync(opts.sharedCacheDir, { recursive: true });
    const env = scrubbedEnv({
      workdir: this.workdir,
      secretNames: opts.secretNames,
      cudaVisibleDevices: opts.cudaVisibleDevices,
      ...(opts.pythonPath ? { pythonPath: opts.pythonPath } : {}),
      ...(opts.sharedCacheDir ? { sharedCacheDir: opts.sharedCacheDir } : {}),
    });
    const harness = [opts.python, harnessScript(), "--device", opts.device, "--channel", "fd:3", "--workdir", this.workdir];
    const argv = opts.sandbox
      ? sandboxArgv(
          opts.python,
          opts.sandbox,
          { workdir: this.workdir, gpu: opts.device === "cuda", ro: opts.sandbox.ro ?? [], rw: opts.sharedCacheDir ? [opts.sharedCacheDir] : [] },
          harness,
          { userns: opts.sandbox.userns ?? false },
        )
      : harness;
    this.child = spawn(argv[0] as string, argv.slice(1), { cwd: this.workdir, env, stdio: ["pipe", "pipe", "pipe", "pipe"], detached: true });
    this.child.stdin?.on("error", () => {}); // a process that died early closes its stdin; the exit says why
    for (const s of [this.child.stdout, this.child.stderr]) s?.on("data", (d: Buffer) => this.appendLog(d.toString()));
    this.readEvents(this.child.stdio[3] as Readable);
    this.closedPromise = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        this.closed = true;
        rmSync(this.workdir, { recursive: true, force: true });
        resolve({ code, signal });
      });
    });
    this.ready = new Promise<ReadyInfo>((resolve, reject) => {
      this.child.on("error", (e: NodeJS.ErrnoException) =>
        reject(
          e.code === "ENOENT"
            ? new ConfigError(`cannot run ${argv[0]}: not found`, { hint: "set KFORGE_PYTHON to a Python with torch (and triton on GPU hosts)" })
            : new ToolError(`harness spawn failed: ${e.message}`, { cause: e }),
        ),
      );
      this.onEvent((e) => {
        if (e.event === "ready") resolve({ pid: Number(e["pid"]), torch: String(e["torch"] ?? ""), gpu: String(e["gpu"] ?? "") });
        if (e.event === "harness_error")
          reject(
            new ToolError(`the verifier harness failed to start: ${String(e["message"])}`, {
              context: { tool: "verifier", log: String(e["trace"] ?? "") },
            }),
          );
      });
      void this.closedPromise.then(({ code, signal }) =>
        reject(
          new ToolError(`the verifier harness exited before it was ready (code ${code}, signal ${signal})`, {
            hint: `run \`${opts.python} ${harnessScript()} --probe\` to see whether torch imports`,
            context: { tool: "verifier", log: this.log.slice(-HARNESS_LOG_CHARS) },
          }),
        ),
      );
    });
    this.ready.catch(() => {}); // observed by whoever takes this process; never an unhandled rejection
  }

  /** Whether the process has exited (a spare that died while waiting must not be used). */
  get exited(): boolean {
    return this.closed || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends the job and resolves when its result arrives, a phase limit kills it, or it dies. */
  run(input: HarnessJob, limits: PhaseLimits, signal?: AbortSignal): Promise<JobOutcome> {
    const job = HarnessJob.parse(input); // a malformed job is our bug: it fails here, before any process sees it
    const nonce = randomBytes(16).toString("hex");
    return new Promise<JobOutcome>((resolve) => {
      let phase = job["mode"] === "verify" ? "static" : "job"; // a verify job announces its phases at once
      let phaseStart = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (o: JobOutcome) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.kill();
        resolve(o);
      };
      const arm = () => {
        if (timer) clearTimeout(timer);
        const limitS = (limits as unknown as Record<string, number>)[phase] ?? limits.job;
        timer = setTimeout(
          () => finish({ kind: "timeout", phase, limitS, elapsedMs: performance.now() - phaseStart, log: this.logTail() }),
          limitS * 1000,
        );
      };
      const onAbort = () => finish({ kind: "aborted" });
      signal?.addEventListener("abort", onAbort);
      this.onEvent((e) => {
        if (e.nonce !== nonce) return; // untagged or forged lines are ignored
        if (e.event === "phase" && typeof e["phase"] === "string") {
          phase = e["phase"];
          phaseStart = performance.now();
          arm();
        } else if (e.event === "result") finish({ kind: "result", result: e["result"], log: this.logTail() });
        else if (e.event === "harness_error")
          finish({ kind: "harness_error", message: `${String(e["message"])}\n${String(e["trace"] ?? "")}`, log: this.logTail() });
      });
      void this.closedPromise.then(({ code, signal: sig }) => finish({ kind: "died", phase, code, signal: sig, log: this.logTail() }));
      arm();
      this.child.stdin?.write(`${JSON.stringify({ ...job, nonce })}\n`);
    });
  }

  /** Kills the whole process group (the candidate's children too); the temp dir goes when it has exited. */
  kill(): void {
    if (this.closed || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
  }

  /** Resolves once the process has exited and its temp dir is gone. */
  async whenClosed(): Promise<void> {
    await this.closedPromise;
  }

  private onEvent(fn: (e: HarnessEvent) => void): void {
    this.listeners.push(fn);
  }

  private readEvents(stream: Readable): void {
    let buf = "";
    stream.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let e: HarnessEvent;
        try {
          e = JSON.parse(line) as HarnessEvent;
        } catch {
          continue;
        }
        for (const fn of this.listeners) fn(e);
      }
    });
    stream.on("error", () => {});
  }

  private appendLog(s: string): void {
    this.log = (this.log + s).slice(-LOG_TAIL);
  }

  private logTail(n = HARNESS_LOG_CHARS): string {
    return this.log.slice(-n);
  }
}
