/**
 * The local verifier: one lane per visible GPU (plus a CPU lane for test problems), one candidate at a
 * time per lane, and a WARM SPARE per lane — a harness process that has already imported torch and
 * Triton and waits for its job — so start-up is never paid on a candidate's critical path. Each process
 * runs one candidate and exits; the next spare starts warming the moment its predecessor is taken.
 */
import { randomInt } from "node:crypto";
import { dirname, join } from "node:path";
import type { Config } from "../../core/config.ts";
import { ConfigError, InfraError, ToolError } from "../../core/errors.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { BaselineCache, BaselineTimingsSchema, baselineKey } from "./baseline-cache.ts";
import { DEFAULT_LIMITS, HarnessProcess, type JobOutcome, type PhaseLimits, type ReadyInfo } from "./client.ts";
import { abortError, throwIfProblemError, toVerifyResult } from "./outcome.ts";
import { probePython, PYTHON_FIX, requirePython } from "./python-env.ts";
import { requireSandbox } from "../sandbox/sandbox.ts";
import { sweepStale } from "../sandbox/sweep.ts";
import type { VerifyResult } from "./result.ts";
import type { BaselineTimings, Verifier, VerifyRequest } from "./types.ts";

export interface PoolOptions {
  /** Interpreter for the harness (default Config.python). */
  python?: string;
  /** GPU ids, one lane each (default Config.gpus, else every GPU the interpreter sees). */
  gpus?: string[];
  limits?: Partial<PhaseLimits>;
  /** Persist baselines in this JSON file (kforge verify); default: a per-run cache in memory. */
  baselineFile?: string;
  /** Static (AST) rules on (default). Tests switch them off to reach the dynamic rules behind them. */
  staticChecks?: boolean;
  /** Seconds of timed runs per benchmark shape and implementation (default: the harness's 0.35). */
  timingBudgetS?: number;
  /** Measure baselines again (once per pool) instead of trusting the persisted ones. */
  freshBaselines?: boolean;
  /** Keep a warm spare per lane (default true). */
  warmSpares?: boolean;
  tmpRoot?: string;
  /** A problem to warm a lane for right away. */
  problem?: LoadedProblem;
  /** Build the sandbox with a user namespace even as root (tests of the non-root path). */
  userns?: boolean;
}

type Device = "cuda" | "cpu";

/** What a reference_check job reports: one ShapeCheck-like entry per correctness shape. */
export interface ReferenceCheck {
  status: "reference_check";
  problem: string;
  passed: boolean;
  skipped?: string;
  checks: Array<{ shape: { S: number }; passed: boolean; maxError: number | null; allowance: number; error?: string }>;
}

interface Lane {
  device: Device;
  cudaVisibleDevices: string;
  busy: boolean;
  spare: HarnessProcess | null;
  info?: ReadyInfo;
}

/** The search's entry point (loaded by cli/search/components.ts). */
export function createVerifierPool(config: Config, opts: PoolOptions = {}): VerifierPool {
  return new VerifierPool(config, opts);
}

export class VerifierPool implements Verifier {
  private readonly python: string;
  private readonly limits: PhaseLimits;
  private readonly baselines: BaselineCache;
  private readonly lanes = new Map<Device, Promise<Lane[]>>();
  private waiters: Array<() => void> = [];
  private pythonPath: string[] | undefined;
  private isolation: "sandbox" | "unsafe" = "sandbox";
  /** Problem folders the sandbox shows (read-only); a spare spawned before a new folder was seen is replaced. */
  private readOnlyPaths: string[] = [];
  private readonly refreshed = new Set<string>();
  /** Every harness process this pool started that has not exited yet: close() kills them all. */
  private readonly live = new Set<HarnessProcess>();
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly opts: PoolOptions = {},
  ) {
    this.python = opts.python ?? config.python;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.baselines = new BaselineCache(opts.baselineFile);
    if (opts.problem) {
      this.showProblem(opts.problem);
      void this.lanesFor(opts.problem.spec.device).catch(() => {}); // warm up early; errors surface on use
    }
  }

  async verify(req: VerifyRequest): Promise<VerifyResult> {
    this.showProblem(req.problem);
    const device = req.problem.spec.device;
    const lane = await this.acquire(device, req.signal);
    try {
      const timing = req.timing !== false;
      const baseline = timing ? (req.baseline ?? (await this.baselineOn(lane, req.problem, req.signal))) : undefined;
      const t0 = performance.now();
      const proc = this.takeProcess(lane);
      const info = await this.whenReady(proc, req.signal);
      const startMs = performance.now() - t0;
      const outcome = await proc.run(
        {
          mode: "verify",
          device,
          problem: req.problem.spec,
          reference_path: req.problem.referencePath,
          source: req.source,
          timing,
          baseline: baseline ?? null,
          static_checks: this.opts.staticChecks ?? true,
          seed: randomInt(1, 1_000_000_000),
          ...(this.opts.timingBudgetS ? { timing_budget_s: this.opts.timingBudgetS } : {}),
          extra: { candidate_id: req.candidateId ?? null },
        },
        this.limits,
        req.signal,
      );
      return toVerifyResult(outcome, { startMs, totalMs: performance.now() - t0 }, info.gpu);
    } finally {
      this.release(lane);
    }
  }

  async measureBaseline(problem: LoadedProblem, signal?: AbortSignal): Promise<BaselineTimings> {
    this.showProblem(problem);
    const lane = await this.acquire(problem.spec.device, signal);
    try {
      return await this.baselineOn(lane, problem, signal);
    } finally {
      this.release(lane);
    }
  }

  /** The problem's reference against its compiled FlexAttention baseline on every correctness shape (GPU suite). */
  async referenceCheck(problem: LoadedProblem, signal?: AbortSignal): Promise<ReferenceCheck> {
    this.showProblem(problem);
    const lane = await this.acquire(problem.spec.device, signal);
    try {
      const proc = this.spawn(lane, join(this.config.home, "cache", "compile"));
      await this.whenReady(proc, signal);
      const o = await proc.run(
        { mode: "reference_check", device: lane.device, problem: problem.spec, reference_path: problem.referencePath, seed: randomInt(1, 1_000_000) },
        this.limits,
        signal,
      );
      if (o.kind === "aborted") throw abortError();
      if (o.kind !== "result") throw new InfraError(`the reference check of ${problem.spec.name} failed (${o.kind})`, { context: { outcome: o } });
      throwIfProblemError(o.result);
      return o.result as ReferenceCheck;
    } finally {
      this.release(lane);
    }
  }

  /** Runs a user's variant files in a sandboxed harness on the CPU lane (problems/scaffold.ts): the outcome of an
   * `inspect_variant` job over the draft problem in `folder`. */
  async inspectVariant(folder: string, draft: Record<string, unknown>, limitS: number, signal?: AbortSignal): Promise<JobOutcome> {
    const referencePath = join(folder, "reference.py");
    this.showProblem({ referencePath, spec: { device: "cpu" } });
    const lane = await this.acquire("cpu", signal);
    try {
      const proc = this.spawn(lane);
      await this.whenReady(proc, signal);
      const o = await proc.run(
        { mode: "inspect_variant", device: "cpu", problem: draft, reference_path: referencePath, seed: 0 },
        { ...this.limits, job: limitS },
        signal,
      );
      if (o.kind === "aborted") throw abortError();
      return o;
    } finally {
      this.release(lane);
    }
  }

  /** Kills every harness process of this pool (spares and running jobs alike); no process starts after it. */
  async close(): Promise<void> {
    this.closed = true;
    for (const l of (await Promise.all([...this.lanes.values()].map((p) => p.catch(() => [] as Lane[])))).flat()) l.spare = null;
    const procs = [...this.live];
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.whenClosed()));
  }

  /** Baselines for this lane's GPU: from the cache, or measured once in a process of their own. */
  private async baselineOn(lane: Lane, problem: LoadedProblem, signal?: AbortSignal): Promise<BaselineTimings> {
    const info = await this.laneInfo(lane, signal);
    const key = baselineKey(problem, info.gpu, info.torch);
    if (this.opts.freshBaselines && !this.refreshed.has(key)) {
      this.refreshed.add(key);
      this.baselines.delete(key);
    }
    return this.baselines.getOrMeasure(key, async () => {
      const proc = this.spawn(lane, join(this.config.home, "cache", "compile"));
      await this.whenReady(proc, signal);
      const o = await proc.run(
        { mode: "baseline", device: lane.device, problem: problem.spec, reference_path: problem.referencePath, seed: 0 },
        this.limits,
        signal,
      );
      if (o.kind === "aborted") throw abortError();
      if (o.kind !== "result") {
        throw new InfraError(`measuring the baselines of ${problem.spec.name} failed (${o.kind})`, { context: { outcome: o } });
      }
      throwIfProblemError(o.result);
      const r = o.result as { shapes?: unknown; gpu?: unknown };
      const parsed = BaselineTimingsSchema.safeParse({
        problem: problem.spec.name,
        gpu: r.gpu,
        shapes: r.shapes,
        measuredAt: new Date().toISOString(),
      });
      if (!parsed.success) throw new ToolError("the harness sent malformed baseline timings", { context: { tool: "verifier", result: o.result } });
      return parsed.data;
    });
  }

  private lanesFor(device: Device): Promise<Lane[]> {
    let p = this.lanes.get(device);
    if (!p) {
      p = this.discover(device);
      this.lanes.set(device, p);
      p.catch(() => this.lanes.delete(device)); // a failed discovery is retried on the next call
    }
    return p;
  }

  private async discover(device: Device): Promise<Lane[]> {
    // The interpreter first: a missing one is a setting to fix, not a sandbox that does not work.
    requirePython(this.python);
    const probe = await probePython(this.python);
    if ("error" in probe)
      throw new InfraError(`the verifier's Python does not run: ${probe.error}`, { hint: "set KFORGE_PYTHON; `kforge doctor` checks the setup" });
    if (!probe.torch)
      throw new ConfigError(`KFORGE_PYTHON (${this.python}) has no PyTorch (${probe.torch_error ?? "torch is not importable"}): ${PYTHON_FIX}`, {
        hint: "install PyTorch for it, or point KFORGE_PYTHON at one that has it; `kforge doctor` checks the setup",
      });
    this.isolation = await requireSandbox(this.python, this.config.unsafeNoSandbox);
    sweepStale(this.opts.tmpRoot); // what killed runs left: their temp dirs and anything still running in them
    // HOME moves into each candidate's temp dir, so a user-site torch/triton must be named explicitly.
    const sites = [...new Set([probe.torch_site, probe.triton_site].filter((s): s is string => !!s))];
    this.pythonPath = sites.length ? sites : undefined;
    const ids = device === "cpu" ? [""] : (this.opts.gpus ?? this.config.gpus ?? (probe.gpus ?? []).map((_, i) => String(i)));
    if (ids.length === 0)
      throw new InfraError(`no GPU visible to ${this.python} (torch ${probe.torch})`, {
        hint: 'run on a GPU host, or use a CPU test problem ("device": "cpu")',
      });
    const lanes = ids.map((id): Lane => ({ device, cudaVisibleDevices: id, busy: false, spare: null }));
    if (this.opts.warmSpares !== false && !this.closed) for (const l of lanes) l.spare = this.spawn(l);
    return lanes;
  }

  /** The one place a harness process starts: refused once the pool is closed, tracked until it exits. */
  private spawn(lane: Lane, sharedCacheDir?: string): HarnessProcess {
    if (this.closed) throw new ToolError("the verifier pool is closed");
    const proc = new HarnessProcess({
      python: this.python,
      device: lane.device,
      cudaVisibleDevices: lane.cudaVisibleDevices,
      secretNames: this.config.secretNames,
      ...(this.pythonPath ? { pythonPath: this.pythonPath } : {}),
      ...(sharedCacheDir ? { sharedCacheDir } : {}),
      ...(this.opts.tmpRoot ? { tmpRoot: this.opts.tmpRoot } : {}),
      sandbox:
        this.isolation === "sandbox"
          ? { home: this.config.home, dbPath: this.config.dbPath, userns: this.opts.userns ?? false, ro: this.readOnlyPaths }
          : null,
    });
    this.live.add(proc);
    void proc.whenClosed().then(() => this.live.delete(proc));
    return proc;
  }

  /** The lane's spare (or a fresh process), replaced at once by a new spare that warms while this one works. */
  private takeProcess(lane: Lane): HarnessProcess {
    let proc = lane.spare;
    lane.spare = null;
    if (!proc || proc.exited) proc = this.spawn(lane);
    if (this.opts.warmSpares !== false && !this.closed) lane.spare = this.spawn(lane);
    return proc;
  }

  /** GPU name and torch version of a lane, from its spare's "ready" line. */
  private async laneInfo(lane: Lane, signal?: AbortSignal): Promise<ReadyInfo> {
    if (lane.info) return lane.info;
    if (!lane.spare || lane.spare.exited) lane.spare = this.spawn(lane);
    lane.info = await this.whenReady(lane.spare, signal);
    return lane.info;
  }

  private whenReady(proc: HarnessProcess, signal?: AbortSignal): Promise<ReadyInfo> {
    return new Promise<ReadyInfo>((resolve, reject) => {
      const limitS = this.limits.start;
      const elapsed = (performance.now() - proc.spawnedAt) / 1000;
      const timer = setTimeout(
        () => {
          proc.kill();
          reject(
            new InfraError(`the verifier harness was not ready within ${limitS}s`, {
              hint: "is the GPU busy or the host overloaded? `kforge doctor`",
            }),
          );
        },
        Math.max(0, limitS - elapsed) * 1000,
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      proc.ready.then(
        (info) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(info);
        },
        (err: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  /** Makes a problem's folder visible to sandboxes spawned from now on; spares that cannot see it are retired. */
  private showProblem(problem: { referencePath: string; spec: { device: Device } }): void {
    const dir = dirname(problem.referencePath);
    if (this.readOnlyPaths.includes(dir)) return;
    this.readOnlyPaths = [...this.readOnlyPaths, dir];
    void this.lanes.get(problem.spec.device)?.then(
      (lanes) => {
        for (const l of lanes) {
          if (!l.busy && l.spare) {
            l.spare.kill();
            l.spare = null;
          }
        }
      },
      () => {},
    );
  }

  private async acquire(device: Device, signal?: AbortSignal): Promise<Lane> {
    const lanes = await this.lanesFor(device);
    for (;;) {
      if (signal?.aborted) throw abortError();
      if (this.closed) throw new ToolError("the verifier pool is closed");
      const free = lanes.find((l) => !l.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }

  private release(lane: Lane): void {
    lane.busy = false;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }
}
