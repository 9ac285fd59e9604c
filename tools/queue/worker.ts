/**
 * A GPU worker: takes verification, baseline and profiling jobs from the queue's streams (consumer group `workers`), runs
 * each on a lane of its own local VerifierPool (one sandboxed lane per GPU, plus the CPU lane for test problems)
 * and posts the outcome to the job's orchestrator. While a job runs, the worker renews its lease on it (XCLAIM by
 * itself resets the entry's idle time); a worker that dies or goes silent stops renewing, and the orchestrator
 * reclaims the job with XAUTOCLAIM. A lease found lost aborts the job here: someone else runs it now. A worker that
 * stops (SIGTERM, `kforge workers stop`, Ctrl-C) hands its running jobs back (a `released` message): they run again
 * elsewhere at once, not a lease later.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import type { Config } from "../../core/config.ts";
import { probeSandbox } from "../sandbox/sandbox.ts";
import { createVerifierPool, type VerifierPool } from "../verifier/pool.ts";
import { probePython } from "../verifier/python-env.ts";
import type { BaselineTimings } from "../verifier/types.ts";
import type { VerifyResult } from "../verifier/result.ts";
import { NcuProfiler } from "../profiler/ncu.ts";
import type { ProfileOutcome } from "../profiler/types.ts";
import { connectQueue, describeRedisError, type QueueAddress } from "./connect.ts";
import { unpackProblem } from "./problem-files.ts";
import { type Device, fieldsOf, GROUP, keys, parseField, QueueJob, type WorkerInfo, type WorkerMessage } from "./protocol.ts";
import { atMost, ensureGroup } from "./streams.ts";

export interface WorkerOptions {
  id?: string;
  /** Lease on a running job (ms): renewed every quarter of it; the heartbeat lives as long. */
  leaseMs: number;
  /** Where lines about jobs go (the terminal of `kforge worker`). */
  log?: (line: string) => void;
  /** Serve GPU jobs (default: when the interpreter sees a GPU) and CPU jobs (default on). */
  devices?: Device[];
  /** A pool to run jobs on (the orchestrator's own lanes); by default the worker opens one. */
  pool?: VerifierPool;
}

interface Running {
  stream: string;
  msgId: string;
  job: QueueJob;
  abort: AbortController;
  sender: Sender;
  /** Its reply (result or error) is posted: nothing to hand back any more. */
  replied: boolean;
  /** Handed back to the orchestrator (this worker is stopping): its outcome is no longer posted. */
  released: boolean;
}

type Sender = Pick<WorkerMessage, "jobId" | "attempt" | "workerId" | "host" | "gpu">;

export class QueueWorker {
  readonly id: string;
  private readonly host = hostname();
  private readonly redis: Redis;
  private readonly running = new Map<string, Running>();
  private readonly loops: Promise<void>[] = [];
  private readonly readers: Redis[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private pool: VerifierPool | undefined;
  private profiler: NcuProfiler | undefined;
  private info: WorkerInfo | undefined;
  private gpuModel = "";
  private stopped = false;
  private done = 0;

  constructor(
    private readonly config: Config,
    private readonly addr: QueueAddress,
    private readonly opts: WorkerOptions,
  ) {
    this.id = opts.id ?? `${this.host}-${process.pid}`;
    this.redis = connectQueue(addr, { name: `kforge-worker:${this.id}` });
  }

  /** Probes this host, announces the worker and starts taking jobs; resolves once it is serving. */
  async start(): Promise<WorkerInfo> {
    const probe = await probePython(this.config.python);
    const sandbox = await probeSandbox(this.config.python);
    const gpus = "error" in probe ? [] : (probe.gpus ?? []);
    const chosen = this.config.gpus ? gpus.filter((_, i) => this.config.gpus?.includes(String(i))) : gpus;
    this.gpuModel = chosen[0] ?? "";
    const devices = this.opts.devices ?? [...(chosen.length ? (["cuda"] as const) : []), "cpu" as const];
    const lanes = { cuda: devices.includes("cuda") ? chosen.length : 0, cpu: devices.includes("cpu") ? 1 : 0 };
    this.info = {
      workerId: this.id,
      host: this.host,
      pid: process.pid,
      startedAt: Date.now(),
      beatAt: Date.now(),
      lanes,
      busy: 0,
      done: 0,
      gpus: chosen,
      versions: {
        kforge: "0.1.0",
        node: process.versions.node,
        python: "error" in probe ? `unusable: ${probe.error}` : probe.python,
        torch: "error" in probe ? "" : (probe.torch ?? ""),
        triton: "error" in probe ? "" : (probe.triton ?? ""),
      },
      sandbox: { ok: sandbox.ok, mode: sandbox.mode, layers: sandbox.layers },
    };
    this.pool = this.opts.pool ?? createVerifierPool(this.config, {});
    try {
      for (const d of devices) if (lanes[d] > 0) await ensureGroup(this.redis, keys.jobs(d));
      await this.beat();
    } catch (err) {
      throw new Error(describeRedisError(err, this.addr));
    }
    const tick = Math.max(100, Math.floor(this.opts.leaseMs / 4));
    this.timers.push(setInterval(() => void this.beat().catch(() => {}), tick));
    this.timers.push(setInterval(() => void this.renewLeases().catch(() => {}), tick));
    for (const d of devices) if (lanes[d] > 0) this.loops.push(this.serve(d, lanes[d]));
    return this.info;
  }

  /**
   * Stops taking jobs, hands the running ones back to their orchestrators (`released`: each runs again elsewhere at
   * once) and aborts them here, leaves the queue. A hand-back that cannot be sent (Redis gone) leaves the job to its
   * lease, as a worker killed outright does.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    const releases = [...this.running.values()].map((r) => this.release(r));
    for (const r of this.readers) r.disconnect();
    await atMost(Promise.allSettled(releases), 2000);
    // A command in flight when Redis went away never settles after disconnect() (ioredis keeps it for a resend): bounded.
    await atMost(Promise.allSettled(this.loops), 3000);
    if (!this.opts.pool) await this.pool?.close();
    await atMost(this.redis.del(keys.worker(this.id)), 2000); // gone from the list at once (else its TTL does it)
    this.redis.disconnect();
  }

  /** One device's loop: reads as many jobs as it has free lanes, each run in the background. */
  private async serve(device: Device, lanes: number): Promise<void> {
    const reader = connectQueue(this.addr, { name: `kforge-worker:${this.id}:${device}` });
    this.readers.push(reader);
    const stream = keys.jobs(device);
    let busy = 0;
    let freed: () => void = () => {};
    while (!this.stopped) {
      if (busy >= lanes) {
        await new Promise<void>((r) => (freed = r));
        continue;
      }
      let reply: unknown;
      try {
        reply = await reader.xreadgroup("GROUP", GROUP, this.id, "COUNT", lanes - busy, "BLOCK", 1000, "STREAMS", stream, ">");
      } catch (err) {
        if (this.stopped) break;
        if (/NOGROUP/.test(String(err))) await ensureGroup(this.redis, stream).catch(() => {}); // Redis came back without the group
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const entries = (reply as [string, [string, string[]][]][] | null)?.[0]?.[1] ?? [];
      for (const [msgId, flat] of entries) {
        busy++;
        void this.handle(stream, msgId, flat).finally(() => {
          busy--;
          freed();
        });
      }
    }
  }

  private async handle(stream: string, msgId: string, flat: string[]): Promise<void> {
    const parsed = parseField(QueueJob, fieldsOf(flat)["job"]);
    if (!parsed.ok) {
      this.log(`refused malformed job ${msgId}: ${parsed.reason}`);
      await this.redis.multi().xack(stream, GROUP, msgId).xdel(stream, msgId).exec();
      return;
    }
    const job = parsed.value;
    const sender = { jobId: job.jobId, attempt: job.attempt, workerId: this.id, host: this.host, gpu: job.device === "cuda" ? this.gpuModel : "cpu" };
    const run: Running = { stream, msgId, job, abort: new AbortController(), sender, replied: false, released: false };
    this.running.set(msgId, run);
    try {
      await this.post(job, { type: "started", ...sender });
      if (this.stopped) return await this.release(run); // read as the worker stopped: back at once
      this.log(`job ${job.jobId} attempt ${job.attempt}: ${job.kind} ${job.problem.name}${job.candidateId ? ` ${job.candidateId}` : ""}`);
      const reply = await this.execute(job, run.abort.signal);
      if (run.abort.signal.aborted) return; // lost the lease or handed back: another worker has the job now
      const msg: WorkerMessage =
        reply.kind === "profile"
          ? { type: "profiled", ...sender, outcome: reply.outcome }
          : reply.kind === "baseline"
            ? { type: "baseline", ...sender, gpu: reply.baseline.gpu, baseline: reply.baseline }
            : {
                type: "verified",
                ...sender,
                gpu: reply.result.gpu ?? sender.gpu,
                result: reply.result,
                ...(reply.baseline ? { baseline: reply.baseline } : {}),
              };
      run.replied = true;
      await this.post(job, msg);
      this.done++;
    } catch (err) {
      if (run.abort.signal.aborted || this.stopped) return;
      const message = err instanceof Error ? err.message : String(err);
      this.log(`job ${job.jobId} attempt ${job.attempt} failed here: ${message}`);
      run.replied = true;
      await this.post(job, { type: "error", ...sender, message: `worker ${this.id}: ${message}` }).catch(() => {});
    } finally {
      this.running.delete(msgId); // no more renewals: the orchestrator acknowledges the entry once it took the reply
    }
  }

  private async execute(
    job: QueueJob,
    signal: AbortSignal,
  ): Promise<
    | { kind: "baseline"; baseline: BaselineTimings }
    | { kind: "verify"; result: VerifyResult; baseline?: BaselineTimings }
    | { kind: "profile"; outcome: ProfileOutcome }
  > {
    const pool = this.pool as VerifierPool;
    const problem = unpackProblem(job.problem, join(this.config.home, "queue", "problems"));
    if (job.kind === "baseline") return { kind: "baseline", baseline: await pool.measureBaseline(problem, signal) };
    if (job.kind === "profile") {
      // Nsight Compute on this host's GPU, inside the sandbox as locally; one profiler per worker remembers "unavailable".
      this.profiler ??= new NcuProfiler(this.config);
      const outcome = await this.profiler.profile({
        problem,
        source: job.source as string,
        ...(job.candidateId ? { candidateId: job.candidateId } : {}),
        signal,
      });
      return { kind: "profile", outcome };
    }
    const model = job.device === "cuda" ? this.gpuModel : "cpu";
    let baseline = job.timing === false ? undefined : job.baselines.find((b) => b.gpu === model);
    let measured: BaselineTimings | undefined;
    if (job.timing !== false && !baseline) {
      // A speedup is only ever against a baseline of the same GPU model: this one's, measured here (once per problem).
      measured = await pool.measureBaseline(problem, signal);
      baseline = measured;
    }
    const result = await pool.verify({
      problem,
      source: job.source as string,
      ...(job.candidateId ? { candidateId: job.candidateId } : {}),
      ...(job.timing !== undefined ? { timing: job.timing } : {}),
      ...(baseline ? { baseline } : {}),
      signal,
    });
    return { kind: "verify", result, ...(measured ? { baseline: measured } : {}) };
  }

  /**
   * Hands a job back to its orchestrator, which issues it again at once as the next attempt, and aborts it here
   * (synchronously, before the message goes: no result of this attempt is posted after it). Once per job; never
   * after its reply went out (the reply settles it, and a release would only be refused).
   */
  private async release(run: Running): Promise<void> {
    if (run.released || run.replied) return;
    run.released = true;
    run.abort.abort();
    this.log(`job ${run.job.jobId} attempt ${run.job.attempt}: handed back (this worker is stopping)`);
    // NOMKSTREAM: an orchestrator that has ended deleted its inbox; a hand-back must not leave one behind.
    const msg: WorkerMessage = { type: "released", ...run.sender, reason: "shutting down" };
    await this.redis.xadd(keys.results(run.job.orchestrator), "NOMKSTREAM", "*", "msg", JSON.stringify(msg)).catch(() => {});
  }

  private async post(job: QueueJob, msg: WorkerMessage): Promise<void> {
    await this.redis.xadd(keys.results(job.orchestrator), "*", "msg", JSON.stringify(msg));
  }

  /** XCLAIM by the owner resets the entry's idle time; an entry no longer ours (reclaimed, acknowledged) comes back empty. */
  private async renewLeases(): Promise<void> {
    for (const r of [...this.running.values()]) {
      const got = (await this.redis.xclaim(r.stream, GROUP, this.id, 0, r.msgId, "JUSTID")) as string[];
      if (got.length === 0 && this.running.has(r.msgId)) {
        this.log(`job ${r.job.jobId} attempt ${r.job.attempt}: lease lost (reclaimed by the orchestrator); stopping it here`);
        r.abort.abort();
      }
    }
  }

  private async beat(): Promise<void> {
    if (!this.info) return;
    this.info = { ...this.info, beatAt: Date.now(), busy: this.running.size, done: this.done };
    await this.redis.multi().hset(keys.worker(this.id), "info", JSON.stringify(this.info)).pexpire(keys.worker(this.id), this.opts.leaseMs).exec();
  }

  private log(line: string): void {
    this.opts.log?.(`${new Date().toISOString()} ${line}`);
  }
}
