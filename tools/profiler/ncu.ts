/**
 * The profiler tool: runs Nsight Compute on one candidate, inside the sandbox, for one
 * representative launch (the first benchmark shape, after warm-up, inside the NVTX range the
 * driver opens), and turns the CSV into a classified ProfileSummary. Never throws for the
 * candidate's or the host's faults: those are ProfileOutcome variants with their cost.
 */
import { kernelBenchOf } from "../../problems/kernelbench/kind.ts";
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { repoRoot, type Config } from "../../core/config.ts";
import { z } from "zod";
import { KforgeError } from "../../core/errors.ts";
import { noKernelsProfiled, ncuDiagnostics, rejectedMetrics, unavailableReason } from "./ncu-errors.ts";
import { parseQueryMetrics, readMetricList, selectMetrics } from "./metric-list.ts";
import { summariseProfile } from "./parse.ts";
import { runSandboxed } from "./sandbox.ts";
import { requireSandbox } from "../sandbox/sandbox.ts";
import { claimTempDir } from "../sandbox/sweep.ts";
import { probePython } from "../verifier/python-env.ts";
import { scrubbedEnv } from "../verifier/sandbox-env.ts";
import type { ProfileOutcome, ProfileRequest, Profiler, ProfileSummary } from "./types.ts";

/** Knobs of the ncu profiler (all optional). */
export interface NcuOptions {
  /** Per-profile wall-clock limit (default 300 s: Python start, Triton compile, ~20 ncu passes). */
  timeoutMs?: number;
  /** GPU index for CUDA_VISIBLE_DEVICES (default: what the environment has). */
  gpu?: string;
  /** Warm-up calls before the profiled one (compile, autotune, caches). */
  warmup?: number;
  /** Keep the temp dir (report, CSV, driver JSON) for debugging. */
  keepDir?: boolean;
  /** The parent environment the sandbox's allow-list draws from (default: this process's). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Extra writable paths inside the profiling sandbox (a scripted ncu's own log, in tests). */
  sandboxRw?: string[];
}

/** A ProfileOutcome before its cost is known. */
type Uncosted = ProfileOutcome extends infer O ? (O extends unknown ? Omit<O, "costMs"> : never) : never;

/** The NVTX range profile_driver.py opens around the profiled call. */
export const NVTX_RANGE = "kforge_profile/";
/** At most this many launches are profiled inside the range (the summary describes the longest). */
export const MAX_LAUNCHES = 4;

/** Finds the ncu binary: an explicit path, then PATH, then the usual CUDA install folders. */
export function locateNcu(configured: string, path: string | undefined): string | null {
  const runnable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (configured.includes("/")) return runnable(configured) ? configured : null;
  const dirs = (path ?? "").split(delimiter).filter(Boolean);
  dirs.push("/usr/local/cuda/bin");
  for (const base of ["/opt/nvidia/nsight-compute", "/usr/local"]) {
    try {
      for (const d of readdirSync(base).sort().reverse()) dirs.push(join(base, d), join(base, d, "bin"));
    } catch {
      /* not installed there */
    }
  }
  return dirs.map((d) => join(d, configured)).find(runnable) ?? null;
}

/** Names of the candidate's @triton.jit functions, for ncu's --kernel-name filter. */
export function tritonKernelNames(source: string): string[] {
  const names: string[] = [];
  let pending = false;
  for (const line of source.split("\n")) {
    if (/^\s*@(triton\.)?jit\b/.test(line)) pending = true;
    const def = /^\s*def\s+(\w+)\s*\(/.exec(line);
    if (def && pending) {
      names.push(def[1] as string);
      pending = false;
    }
  }
  return [...new Set(names)];
}

/** The representative launch: the problem's first benchmark shape. */
export function representativeShape(req: ProfileRequest): ProfileSummary["shape"] {
  if (kernelBenchOf(req.problem)) return { B: 1, H: 1, Hkv: 1, S: 1, D: 1 }; // one call on get_inputs(): no attention shape
  const s = req.problem.spec.shapes.benchmark[0];
  if (!s) throw new Error(`problem ${req.problem.spec.name} has no benchmark shape`);
  return { B: s.B, H: s.H, Hkv: s.Hkv ?? s.H, S: s.S, D: s.D };
}

/** Runs Nsight Compute on candidates; remembers when profiling is unavailable on this host. */
export class NcuProfiler implements Profiler {
  private unavailable: string | null = null;
  private metricsFor = new Map<string, string[]>();

  constructor(
    private readonly config: Config,
    private readonly opts: NcuOptions = {},
  ) {}

  /** Profiles one candidate: ok (summary), unavailable (host cannot profile) or failed (this candidate). */
  async profile(req: ProfileRequest): Promise<ProfileOutcome> {
    const started = performance.now();
    const cost = () => Math.round(performance.now() - started);
    if (this.unavailable) return { status: "unavailable", reason: this.unavailable, costMs: cost() };
    const dir = mkdtempSync(join(tmpdir(), `kforge-prof-${(req.candidateId ?? "c").replace(/[^\w-]/g, "_").slice(0, 40)}-`));
    claimTempDir(dir);
    try {
      const env = await this.sandboxEnv(dir);
      const ncu = locateNcu(this.config.ncu, env["PATH"]);
      const outcome: Uncosted = ncu
        ? await this.run(req, ncu, dir, env)
        : {
            status: "unavailable",
            reason: `Nsight Compute (ncu) not found (${this.config.ncu.includes("/") ? `KFORGE_NCU=${this.config.ncu} is not an executable` : "not on PATH nor in /usr/local/cuda/bin"}): install Nsight Compute or set KFORGE_NCU=/path/to/ncu. The search goes on with timing feedback only.`,
          };
      if (outcome.status === "unavailable") this.unavailable = outcome.reason;
      return { ...outcome, costMs: cost() } as ProfileOutcome;
    } catch (err) {
      if (req.signal?.aborted) throw err;
      if (err instanceof KforgeError) return { status: "failed", reason: err.message, costMs: cost() };
      throw err;
    } finally {
      if (!this.opts.keepDir) rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The verifier's sandbox environment, with its PYTHONPATH for a user-site torch. */
  private async sandboxEnv(dir: string): Promise<Record<string, string>> {
    const probe = await probePython(this.config.python);
    const site = "error" in probe ? undefined : probe.torch_site;
    return scrubbedEnv({
      workdir: dir,
      secretNames: this.config.secretNames,
      cudaVisibleDevices: this.opts.gpu ?? this.config.gpus?.[0] ?? "0",
      ...(site ? { pythonPath: [site] } : {}),
      ...(this.opts.baseEnv ? { from: this.opts.baseEnv } : {}),
    });
  }

  private async run(req: ProfileRequest, ncu: string, dir: string, env: Record<string, string>): Promise<Uncosted> {
    const isolation = await requireSandbox(this.config.python, this.config.unsafeNoSandbox);
    const shape = representativeShape(req);
    const kb = kernelBenchOf(req.problem);
    const limit = this.opts.timeoutMs ?? 300_000;
    let metrics = await this.metrics(ncu, dir, env);
    const candidate = join(dir, "candidate.py");
    writeFileSync(candidate, req.source);
    const names = tritonKernelNames(req.source);
    const resultPath = join(dir, "driver.json");
    const report = join(dir, "profile");
    let nameFilter = names.length > 0;
    let text = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      rmSync(resultPath, { force: true });
      const argv = [
        ncu,
        "--clock-control",
        "none",
        "--target-processes",
        "all",
        "--nvtx",
        "--nvtx-include",
        NVTX_RANGE,
        "--launch-count",
        String(MAX_LAUNCHES),
        ...(nameFilter ? ["--kernel-name", `regex:^(${names.join("|")})$`] : []),
        "--metrics",
        metrics.join(","),
        "--export",
        report,
        "--force-overwrite",
        this.config.python,
        join(repoRoot(), "tools", "profiler", "profile_driver.py"),
        "--module",
        candidate,
        ...(kb
          ? ["--kernelbench", kb.referencePath]
          : ["--shape", [shape.B, shape.H, shape.Hkv, shape.S, shape.D].join(","), "--params", JSON.stringify(req.problem.spec.params)]),
        "--result",
        resultPath,
        "--warmup",
        String(this.opts.warmup ?? 3),
      ];
      // ncu's own install (wherever it is, a home directory included) is shown read-only beside the system
      const install = dirname(realpathSync(ncu));
      const sandbox =
        isolation === "sandbox"
          ? {
              python: this.config.python,
              home: this.config.home,
              dbPath: this.config.dbPath,
              gpu: true,
              ro: [install, ...(kb ? [dirname(kb.referencePath)] : [])],
              rw: this.opts.sandboxRw ?? [],
            }
          : null;
      const exit = await runSandboxed({ argv, cwd: dir, env, timeoutMs: limit, signal: req.signal, sandbox });
      if (exit.aborted) throw req.signal?.reason ?? new Error("profile aborted");
      if (exit.spawnError)
        return { status: "unavailable", reason: `could not start ncu at ${ncu}: ${exit.spawnError.message}. Set KFORGE_NCU to a working ncu.` };
      text = `${exit.stdout}\n${exit.stderr}`;
      const unavailable = unavailableReason(text);
      if (unavailable) return { status: "unavailable", reason: unavailable };
      if (exit.timedOut) return { status: "failed", reason: `ncu did not finish within ${Math.round(limit / 1000)} s` };
      const driver = readDriverResult(resultPath);
      if (driver?.status === "no_gpu")
        return {
          status: "unavailable",
          reason: `no CUDA GPU visible to the profiler (${driver.message}). The search goes on with timing feedback only.`,
        };
      if (driver?.status === "error") return { status: "failed", reason: `the kernel failed under ncu during ${driver.phase}: ${driver.message}` };
      const rejected = rejectedMetrics(text, metrics);
      if (rejected.length && rejected.length < metrics.length) {
        metrics = metrics.filter((m) => !rejected.includes(m)); // ncu of another version: retry without them
        continue;
      }
      if (noKernelsProfiled(text) && nameFilter) {
        nameFilter = false; // the NVTX range alone still isolates the candidate's call
        continue;
      }
      if (noKernelsProfiled(text)) return { status: "failed", reason: `ncu profiled no kernel inside the call; ${ncuDiagnostics(text).join(" | ")}` };
      if (!existsSync(`${report}.ncu-rep`) || driver?.status !== "ok") {
        const why = ncuDiagnostics(text).join(" | ") || text.trim().split("\n").slice(-3).join(" | ");
        return { status: "failed", reason: `ncu exited with ${exit.code ?? exit.signal} and no profile: ${why}` };
      }
      const csv = await this.exportCsv(ncu, `${report}.ncu-rep`, dir, env);
      if (typeof csv !== "string") return csv;
      try {
        return { status: "ok", summary: summariseProfile(csv, { shape, compile: driver.compile }) };
      } catch (err) {
        return { status: "failed", reason: `could not read ncu's CSV: ${(err as Error).message.slice(0, 500)}` };
      }
    }
    return { status: "failed", reason: `ncu kept failing: ${ncuDiagnostics(text).join(" | ")}` };
  }

  /** The raw page of a report as CSV, in base units where this ncu supports --print-units. */
  private async exportCsv(
    ncu: string,
    rep: string,
    dir: string,
    env: Record<string, string>,
  ): Promise<string | { status: "failed"; reason: string }> {
    let last = "";
    for (const units of [["--print-units", "base"], []]) {
      const r = await runSandboxed({
        argv: [ncu, "--import", rep, "--csv", "--page", "raw", ...units],
        cwd: dir,
        env,
        timeoutMs: 60_000,
        sandbox: null,
      });
      if (r.code === 0 && r.stdout.includes("Kernel Name")) return r.stdout;
      last = ncuDiagnostics(r.stdout + r.stderr).join(" | ") || r.stderr.slice(-300);
    }
    return { status: "failed", reason: `ncu --import failed: ${last}` };
  }

  /** The metric list for this ncu: optional names only when `--query-metrics` lists them (cached). */
  private async metrics(ncu: string, dir: string, env: Record<string, string>): Promise<string[]> {
    const cached = this.metricsFor.get(ncu);
    if (cached) return cached;
    const q = await runSandboxed({ argv: [ncu, "--query-metrics", "--devices", "0"], cwd: dir, env, timeoutMs: 60_000, sandbox: null });
    const chosen = selectMetrics(readMetricList(), parseQueryMetrics(q.stdout));
    this.metricsFor.set(ncu, chosen);
    return chosen;
  }
}

const n = z.number().nullable().catch(null);
/** profile_driver.py's result file (written inside the candidate's process: parsed, not trusted). */
const DriverResult = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("ok"),
    compile: z.array(z.object({ name: z.string(), registers: n, spills: n, sharedBytes: n, numWarps: n, numStages: n })).catch([]),
  }),
  z.object({ status: z.literal("no_gpu"), message: z.string().catch("") }),
  z.object({ status: z.literal("error"), phase: z.string().catch("?"), message: z.string().catch("") }),
]);

function readDriverResult(path: string): z.infer<typeof DriverResult> | null {
  try {
    const r = DriverResult.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Profiles one candidate with Nsight Compute (a one-off NcuProfiler; reuse one for a whole run). */
export function profileCandidate(req: ProfileRequest, config: Config, opts: NcuOptions = {}): Promise<ProfileOutcome> {
  return new NcuProfiler(config, opts).profile(req);
}
