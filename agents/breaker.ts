/**
 * The circuit breaker of a run's model endpoint. After N consecutive calls failed on the endpoint
 * (down, refusing, timing out after their own retries), new calls wait; one probe call goes out after
 * a pause that doubles each time the probe fails. A success closes the breaker. When the endpoint
 * stays down past the total wait, every waiting and later call throws `EndpointUnreachableError`:
 * the run stops (status `stopped`, resumable) instead of burning its budget on failed nodes.
 */
import { EndpointUnreachableError } from "../core/errors.ts";
import type { ModelLimits } from "../core/config.ts";
import { sleep } from "./retry.ts";

/** The longest single pause between probes, whatever the doubling reaches. */
export const MAX_PROBE_PAUSE_MS = 5 * 60_000;

/** What a call tells the breaker when it ends: the endpoint answered, failed, or we cannot tell (aborted). */
export type CallOutcome = "up" | "down" | "unknown";

/** Admission of one call; `done` must be called once when it ends. */
export interface BreakerPass {
  done(outcome: CallOutcome, reason?: string): void;
}

/** Where the breaker reports opening, probing, closing and giving up (the trace and the progress display). */
export type BreakerListener = (kind: "breaker_open" | "breaker_probe" | "breaker_closed" | "endpoint_unreachable", message: string) => void;

type Settings = Pick<ModelLimits, "breakerFailures" | "breakerPauseMs" | "breakerMaxWaitMs">;

/** One breaker per run, shared by every role's calls (they share the endpoint, or its outage). */
export class EndpointBreaker {
  #consecutive = 0;
  #open = false;
  #tripped = false;
  #probing = false;
  #openedAt = 0;
  #pauseMs = 0;
  #nextProbeAt = 0;
  #lastReason = "";
  #wake: (() => void) | null = null;
  #changed: Promise<void> = this.#nextChange();

  constructor(
    private readonly settings: Settings,
    private readonly listen: BreakerListener = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when a call may go out (at once while closed); throws EndpointUnreachableError once the breaker gave up. */
  async admit(signal?: AbortSignal): Promise<BreakerPass> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (this.#tripped) throw this.unreachable();
      if (!this.#open) return this.pass(false);
      const t = this.now();
      if (!this.#probing && t >= this.#nextProbeAt) {
        this.#probing = true;
        this.listen("breaker_probe", `probing the model endpoint after ${Math.round((t - this.#openedAt) / 1000)}s of outage`);
        return this.pass(true);
      }
      // Wait for the next probe time, or for a probe's outcome (whichever comes first).
      const wait = this.#probing ? 60_000 : Math.max(1, this.#nextProbeAt - t);
      const stop = new AbortController();
      await Promise.race([sleep(wait, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal).catch(() => {}), this.#changed]);
      stop.abort(); // no timer outlives the wait
      if (signal?.aborted) throw signal.reason;
    }
  }

  private pass(probe: boolean): BreakerPass {
    let ended = false;
    return {
      done: (outcome, reason) => {
        if (ended) return;
        ended = true;
        if (outcome === "up") this.up();
        else if (outcome === "down") this.down(reason ?? "endpoint failure", probe);
        else if (probe) this.#probing = false;
        this.#notify();
      },
    };
  }

  private up(): void {
    if (this.#open) this.listen("breaker_closed", `model endpoint answered again after ${Math.round((this.now() - this.#openedAt) / 1000)}s`);
    this.#consecutive = 0;
    this.#open = false;
    this.#probing = false;
  }

  private down(reason: string, probe: boolean): void {
    this.#lastReason = reason;
    this.#consecutive++;
    const t = this.now();
    const s = this.settings;
    if (!this.#open) {
      if (this.#consecutive < s.breakerFailures) return;
      this.#open = true;
      this.#openedAt = t;
      this.#pauseMs = s.breakerPauseMs;
      this.#nextProbeAt = t + Math.min(this.#pauseMs, s.breakerMaxWaitMs);
      this.listen(
        "breaker_open",
        `${this.#consecutive} model calls in a row failed on the endpoint (last: ${reason}); pausing ${Math.round(this.#pauseMs / 1000)}s before a probe`,
      );
      return;
    }
    if (!probe) return;
    this.#probing = false;
    const waited = t - this.#openedAt;
    if (waited >= s.breakerMaxWaitMs) {
      this.#tripped = true;
      this.listen("endpoint_unreachable", `model endpoint unreachable for ${Math.round(waited / 1000)}s (KFORGE_BREAKER_WAIT_S); last: ${reason}`);
      return;
    }
    this.#pauseMs = Math.min(this.#pauseMs * 2, MAX_PROBE_PAUSE_MS);
    this.#nextProbeAt = t + Math.min(this.#pauseMs, s.breakerMaxWaitMs - waited);
    this.listen("breaker_open", `probe failed (${reason}); next probe in ${Math.round((this.#nextProbeAt - t) / 1000)}s`);
  }

  private unreachable(): EndpointUnreachableError {
    return new EndpointUnreachableError(`model endpoint unreachable: ${this.#lastReason}`, {
      hint: "the run stopped and keeps everything recorded; once the endpoint is back: kforge resume RUN",
    });
  }

  #nextChange(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#changed = this.#nextChange();
    wake?.();
  }
}
