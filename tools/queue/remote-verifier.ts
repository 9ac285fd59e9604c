/**
 * The orchestrator's side of the queue: a `Verifier` whose lanes are the workers. Each verify() becomes a job
 * (source + sha256, the problem's files, the baselines known per GPU model) on the device's stream. Replies come
 * to this search's own inbox stream and are accepted only for the job's current attempt, from the worker that
 * started that attempt: anything else (an unknown job, an old attempt, another worker, a duplicate) is refused,
 * so each verification is recorded exactly once. Jobs whose worker stopped renewing its lease are reclaimed with
 * XAUTOCLAIM and issued again as the next attempt; jobs lost with a Redis that restarted without them are too, and
 * so are jobs their worker hands back as it stops (`released`), at once.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { ToolError } from "../../core/errors.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { abortError } from "../verifier/outcome.ts";
import type { VerifyResult } from "../verifier/result.ts";
import type { BaselineTimings, Verifier, VerifyRequest } from "../verifier/types.ts";
import type { ProfileOutcome, ProfileRequest } from "../profiler/types.ts";
import { connectQueue, type QueueAddress } from "./connect.ts";
import { packProblem } from "./problem-files.ts";
import { type Device, fieldsOf, GROUP, keys, PROTOCOL_VERSION, parseField, type QueueJob, sha256, WorkerMessage } from "./protocol.ts";
import { atMost, ensureGroup } from "./streams.ts";

export interface RemoteOptions {
  /** A worker silent this long (ms) loses its job to the next attempt. */
  leaseMs: number;
  /** Lines for the run's log: refused replies, reclaimed jobs. */
  log?: (line: string) => void;
}

/** A reply the orchestrator did not accept, and why (also logged). */
export interface Refusal {
  reason: string;
  message: unknown;
}

interface Pending {
  job: QueueJob;
  stream: string;
  msgId: string;
  /** The worker that started the current attempt (null until one does). */
  worker: string | null;
  /** An XADD of this job is under way (or failed and waits for the next reclaim round). */
  issuing: boolean;
  /** The current attempt's entry is being acknowledged before the next attempt goes out. */
  reissuing: boolean;
  settle: (msg: WorkerMessage) => void;
  fail: (err: Error) => void;
}

export class RemoteVerifier implements Verifier {
  readonly id = `orch-${randomUUID().slice(0, 12)}`;
  readonly refused: Refusal[] = [];
  /** Every reply taken, with the worker that sent it. */
  readonly accepted: Array<{ jobId: string; attempt: number; workerId: string; host: string; gpu: string; type: string }> = [];
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly pending = new Map<string, Pending>();
  /** Baselines by GPU model: every job carries them, and a worker uses only its own model's. */
  private readonly baselines = new Map<string, BaselineTimings>();
  private readonly problems = new WeakMap<LoadedProblem, ReturnType<typeof packProblem>>();
  private readonly inbox: string;
  private readonly loop: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private reclaiming = false;

  constructor(
    addr: QueueAddress,
    private readonly opts: RemoteOptions,
  ) {
    this.redis = connectQueue(addr, { name: `kforge-orchestrator:${this.id}` });
    this.reader = connectQueue(addr, { name: `kforge-orchestrator:${this.id}:inbox` });
    this.inbox = keys.results(this.id);
    this.loop = this.readReplies();
    this.timer = setInterval(
      () => void this.reclaim().catch((e: unknown) => this.log(`reclaim: ${String(e)}`)),
      Math.max(200, Math.floor(opts.leaseMs / 2)),
    );
  }

  async verify(req: VerifyRequest): Promise<VerifyResult> {
    if (req.baseline) this.baselines.set(req.baseline.gpu, req.baseline);
    const msg = await this.submit(req.problem, "verify", req.signal, {
      source: req.source,
      sourceSha256: sha256(req.source),
      ...(req.timing !== undefined ? { timing: req.timing } : {}),
      ...(req.candidateId ? { candidateId: req.candidateId } : {}),
    });
    if (msg.type !== "verified") throw new ToolError(`no verification came back (${msg.type})`);
    if (msg.baseline) this.baselines.set(msg.baseline.gpu, msg.baseline);
    // The trace records who verified it: the worker whose reply for this attempt passed the gate.
    return { ...msg.result, worker: { id: msg.workerId, host: msg.host, attempt: msg.attempt } };
  }

  /** Nsight Compute on a worker's GPU (the search's profiler when it verifies through the queue). */
  async profile(req: ProfileRequest): Promise<ProfileOutcome> {
    const msg = await this.submit(req.problem, "profile", req.signal, {
      source: req.source,
      sourceSha256: sha256(req.source),
      ...(req.candidateId ? { candidateId: req.candidateId } : {}),
    });
    if (msg.type !== "profiled") throw new ToolError(`no profile came back (${msg.type})`);
    return msg.outcome;
  }

  async measureBaseline(problem: LoadedProblem, signal?: AbortSignal): Promise<BaselineTimings> {
    const msg = await this.submit(problem, "baseline", signal, {});
    if (msg.type !== "baseline") throw new ToolError(`no baseline came back (${msg.type})`);
    this.baselines.set(msg.baseline.gpu, msg.baseline);
    return msg.baseline;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const [jobId, p] of this.pending) {
      this.pending.delete(jobId);
      p.fail(new ToolError("the remote verifier is closed"));
      if (p.msgId) await atMost(this.redis.multi().xack(p.stream, GROUP, p.msgId).xdel(p.stream, p.msgId).exec(), 2000);
    }
    this.reader.disconnect();
    await atMost(this.loop, 3000); // an XREAD in flight when Redis went away never settles after disconnect()
    await atMost(this.redis.del(this.inbox), 2000); // Redis may be gone: a search still ends
    this.redis.disconnect();
  }

  private async submit(
    problem: LoadedProblem,
    kind: QueueJob["kind"],
    signal: AbortSignal | undefined,
    extra: Partial<QueueJob>,
  ): Promise<WorkerMessage> {
    if (this.closed) throw new ToolError("the remote verifier is closed");
    if (signal?.aborted) throw abortError();
    let files = this.problems.get(problem);
    if (!files) {
      files = packProblem(problem);
      this.problems.set(problem, files);
    }
    const device: Device = problem.spec.device;
    const job: QueueJob = {
      v: PROTOCOL_VERSION,
      jobId: randomUUID(),
      attempt: 1,
      orchestrator: this.id,
      kind,
      device,
      problem: files,
      baselines: [...this.baselines.values()],
      issuedAt: Date.now(),
      ...extra,
    };
    const stream = keys.jobs(device);
    await ensureGroup(this.redis, stream);
    return new Promise<WorkerMessage>((resolve, reject) => {
      const onAbort = () => {
        const p = this.pending.get(job.jobId);
        this.pending.delete(job.jobId);
        if (p)
          void this.redis
            .multi()
            .xack(p.stream, GROUP, p.msgId)
            .xdel(p.stream, p.msgId)
            .exec()
            .catch(() => {});
        reject(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const p: Pending = {
        job,
        stream,
        msgId: "",
        worker: null,
        issuing: false,
        reissuing: false,
        settle: (m) => {
          signal?.removeEventListener("abort", onAbort);
          if (m.type === "error") reject(new ToolError(m.message, { context: { tool: "verifier" } }));
          else resolve(m);
        },
        fail: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.pending.set(job.jobId, p);
      void this.issue(p).catch((e: unknown) => this.log(`issuing job ${job.jobId} failed (${String(e)}); the next reclaim round retries`));
    });
  }

  /** Puts the job's current attempt on its stream. */
  private async issue(p: Pending): Promise<void> {
    p.worker = null;
    p.msgId = "";
    p.issuing = true;
    try {
      const id = (await this.redis.xadd(p.stream, "*", "job", JSON.stringify(p.job))) as string;
      if (this.pending.get(p.job.jobId) === p) p.msgId = id;
      else await this.redis.xdel(p.stream, id); // cancelled meanwhile
    } finally {
      p.issuing = false;
    }
  }

  private async readReplies(): Promise<void> {
    let last = "0-0";
    while (!this.closed) {
      let reply: unknown;
      try {
        reply = await this.reader.xread("COUNT", 100, "BLOCK", 1000, "STREAMS", this.inbox, last);
      } catch {
        if (this.closed) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      for (const [id, flat] of (reply as [string, [string, string[]][]][] | null)?.[0]?.[1] ?? []) {
        last = id;
        await this.accept(fieldsOf(flat)["msg"]);
        await this.redis.xdel(this.inbox, id).catch(() => {});
      }
    }
  }

  /** The one gate every reply passes: the job's current attempt, from the worker that started it, once. */
  private async accept(raw: string | undefined): Promise<void> {
    const parsed = parseField(WorkerMessage, raw);
    if (!parsed.ok) return this.refuse(`malformed reply: ${parsed.reason}`, raw);
    const m = parsed.value;
    const p = this.pending.get(m.jobId);
    if (!p) return this.refuse(`reply for job ${m.jobId} that is not in flight (unknown, finished or cancelled)`, m);
    if (m.attempt !== p.job.attempt) return this.refuse(`reply for attempt ${m.attempt} of job ${m.jobId}, which is at attempt ${p.job.attempt}`, m);
    if (m.type === "started") {
      if (p.worker !== null && p.worker !== m.workerId)
        return this.refuse(`worker ${m.workerId} started attempt ${m.attempt} of job ${m.jobId}, which ${p.worker} holds`, m);
      p.worker = m.workerId;
      return;
    }
    if (p.worker !== m.workerId)
      return this.refuse(
        `worker ${m.workerId} replied for attempt ${m.attempt} of job ${m.jobId}, which it was not given (${p.worker ?? "not started"})`,
        m,
      );
    // Its holder hands the attempt back: the next attempt goes out now, and anything later from this one is stale.
    if (m.type === "released") {
      if (p.issuing || p.reissuing) return this.refuse(`release of attempt ${m.attempt} of job ${m.jobId} while it is being issued`, m);
      return this.reissue(p, m.attempt, `worker ${m.workerId} stopped and released it (${m.reason})`).catch((e: unknown) =>
        this.log(`reissuing job ${m.jobId} failed (${String(e)}); its lease covers it`),
      );
    }
    if (m.type === "verified" && p.job.kind !== "verify") return this.refuse(`a verification for ${p.job.kind} job ${m.jobId}`, m);
    if (m.type === "baseline" && p.job.kind !== "baseline") return this.refuse(`a baseline for ${p.job.kind} job ${m.jobId}`, m);
    if (m.type === "profiled" && p.job.kind !== "profile") return this.refuse(`a profile for ${p.job.kind} job ${m.jobId}`, m);
    this.pending.delete(m.jobId);
    await this.redis
      .multi()
      .xack(p.stream, GROUP, p.msgId)
      .xdel(p.stream, p.msgId)
      .exec()
      .catch(() => {});
    this.accepted.push({ jobId: m.jobId, attempt: m.attempt, workerId: m.workerId, host: m.host, gpu: m.gpu, type: m.type });
    p.settle(m);
  }

  private refuse(reason: string, message: unknown): void {
    this.refused.push({ reason, message });
    this.log(`refused: ${reason}`);
  }

  /** Jobs whose worker stopped renewing its lease (XAUTOCLAIM), and jobs Redis no longer has, run again as the next attempt. */
  private async reclaim(): Promise<void> {
    if (this.closed || this.pending.size === 0 || this.reclaiming) return;
    this.reclaiming = true;
    try {
      await this.reclaimRound();
    } finally {
      this.reclaiming = false;
    }
  }

  private async reclaimRound(): Promise<void> {
    for (const p of [...this.pending.values()]) if (!p.msgId && !p.issuing) await this.issue(p); // an XADD that failed
    const byMsg = new Map([...this.pending.values()].filter((p) => p.msgId).map((p) => [p.msgId, p]));
    for (const stream of new Set([...this.pending.values()].map((p) => p.stream))) {
      let cursor = "0-0";
      do {
        const r = (await this.redis.xautoclaim(stream, GROUP, this.id, this.opts.leaseMs, cursor, "COUNT", 100, "JUSTID")) as [
          string,
          string[],
          string[]?,
        ];
        cursor = r[0];
        for (const id of r[1]) {
          const p = byMsg.get(id);
          if (!p) continue; // another search's job: its own orchestrator reclaims it
          if (p.msgId !== id) continue; // issued again meanwhile (its worker released it)
          await this.reissue(p, p.job.attempt, `its lease lapsed (worker ${p.worker ?? "none"} silent for ${this.opts.leaseMs / 1000}s)`);
        }
      } while (cursor !== "0-0");
    }
    // A Redis restarted from an older snapshot may have lost a job or its reply: an entry gone from its stream runs again.
    for (const p of [...this.pending.values()]) {
      const { msgId, attempt } = { msgId: p.msgId, attempt: p.job.attempt };
      if (!msgId) continue;
      const still = (await this.redis.xrange(p.stream, msgId, msgId)) as unknown[];
      if (still.length === 0 && p.msgId === msgId) await this.reissue(p, attempt, "Redis no longer has it");
    }
  }

  /**
   * Issues attempt `from` + 1 of a job in place of attempt `from`. Two paths may race here (a release read from the
   * inbox, a reclaim round): only the first for a given attempt acts, so an attempt is never issued twice.
   */
  private async reissue(p: Pending, from: number, why: string): Promise<void> {
    const current = () => this.pending.get(p.job.jobId) === p && p.job.attempt === from;
    if (!current() || p.issuing || p.reissuing) return;
    p.reissuing = true;
    try {
      if (p.msgId) await this.redis.multi().xack(p.stream, GROUP, p.msgId).xdel(p.stream, p.msgId).exec();
    } finally {
      p.reissuing = false;
    }
    if (!current()) return; // cancelled, or issued again, meanwhile
    p.job = { ...p.job, attempt: from + 1, baselines: [...this.baselines.values()], issuedAt: Date.now() };
    this.log(`job ${p.job.jobId}: attempt ${from} reclaimed, ${why}; issued again as attempt ${p.job.attempt}`);
    await this.issue(p);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
