/**
 * Verification lanes as the search sees them: a wrapper around any Verifier that admits at most
 * `lanes` candidates at once (first come, first served; the rest wait here, as they would in the
 * pool) and measures how busy the lanes were, how long jobs waited and how long they ran. The pool
 * (local GPUs, remote workers) is left as it is: the numbers come from the graph's side of it.
 */
import type { LoadedProblem } from "../problems/schema.ts";
import type { VerifyResult } from "../tools/verifier/result.ts";
import type { BaselineTimings, Verifier, VerifyRequest } from "../tools/verifier/types.ts";

/** The lanes right now and since the meter started. */
export interface LaneStats {
  lanes: number;
  /** Lanes verifying a candidate now. */
  busy: number;
  /** Candidates waiting for a lane now. */
  queued: number;
  /** Verifications finished (or failed) so far. */
  jobs: number;
  /** Busy lane-time over lanes × time since the meter started, in [0, 1]. */
  utilisation: number;
  /** Mean time a job held a lane, and waited for one (ms; null before the first job). */
  meanServiceMs: number | null;
  meanWaitMs: number | null;
  /** Time the meter has been running (ms). */
  windowMs: number;
}

/** A Verifier with `lanes` lanes in front of another, and the numbers of how busy they were. */
export class LanesMeter implements Verifier {
  #lanes: number;
  #busy = 0;
  #queue: Array<() => void> = [];
  #busyLaneMs = 0;
  /** Lanes × time so far: the denominator of utilisation when the number of lanes changes. */
  #laneMs = 0;
  #last: number;
  readonly #start: number;
  #jobs = 0;
  #serviceMs = 0;
  #waitMs = 0;

  constructor(
    private readonly inner: Verifier,
    lanes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    checkLanes(lanes);
    this.#lanes = lanes;
    this.#start = this.#last = now();
  }

  /** The lanes there are now. */
  get lanes(): number {
    return this.#lanes;
  }

  /**
   * Lanes come and go (remote workers join a queue or leave it): more admits waiting jobs at once, fewer lets
   * the running ones finish and admits no new one until the busy count is under the new number.
   */
  setLanes(lanes: number): void {
    checkLanes(lanes);
    this.#advance();
    this.#lanes = lanes;
    while (this.#busy < this.#lanes && this.#queue.length > 0) {
      this.#busy++;
      this.#queue.shift()!();
    }
  }

  async verify(req: VerifyRequest): Promise<VerifyResult> {
    const queuedAt = this.now();
    await this.#acquire(req.signal);
    const startedAt = this.now();
    try {
      return await this.inner.verify(req);
    } finally {
      const t = this.now();
      this.#jobs++;
      this.#serviceMs += t - startedAt;
      this.#waitMs += startedAt - queuedAt;
      this.#release();
    }
  }

  measureBaseline(problem: LoadedProblem, signal?: AbortSignal): Promise<BaselineTimings> {
    if (!this.inner.measureBaseline) throw new Error("this verifier measures no baselines");
    return this.inner.measureBaseline(problem, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Where the lanes stand now. */
  stats(): LaneStats {
    this.#advance();
    const windowMs = this.#last - this.#start;
    return {
      lanes: this.lanes,
      busy: this.#busy,
      queued: this.#queue.length,
      jobs: this.#jobs,
      utilisation: this.#laneMs > 0 ? Math.min(1, this.#busyLaneMs / this.#laneMs) : 0,
      meanServiceMs: this.#jobs ? this.#serviceMs / this.#jobs : null,
      meanWaitMs: this.#jobs ? this.#waitMs / this.#jobs : null,
      windowMs,
    };
  }

  /** Busy lane-milliseconds so far (for utilisation over a window of the caller's choosing). */
  busyLaneMs(): number {
    this.#advance();
    return this.#busyLaneMs;
  }

  /** Lane-milliseconds there were so far, busy or idle (the lanes at each moment times its length). */
  laneMs(): number {
    this.#advance();
    return this.#laneMs;
  }

  #advance(): void {
    const t = this.now();
    this.#busyLaneMs += this.#busy * (t - this.#last);
    this.#laneMs += this.#lanes * (t - this.#last);
    this.#last = t;
  }

  async #acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (this.#busy < this.#lanes && this.#queue.length === 0) {
      this.#advance();
      this.#busy++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const admit = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#queue = this.#queue.filter((f) => f !== admit);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(admit);
    });
  }

  #release(): void {
    this.#advance();
    // The lane passes straight to the next job in line (it never counts as idle in between), unless lanes went away.
    const next = this.#busy <= this.#lanes ? this.#queue.shift() : undefined;
    if (next) next();
    else this.#busy--;
  }
}

function checkLanes(lanes: number): void {
  if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`LanesMeter: lanes must be a positive integer, got ${lanes}`);
}
