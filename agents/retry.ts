/**
 * The retry policy of model calls: how many attempts, and how long to wait between them.
 */

/** Attempts per model call (1 first try + 4 retries) before giving up. */
export const MAX_ATTEMPTS = 5;
/** First backoff step; doubles each retry. */
export const BASE_DELAY_MS = 1_000;
/** No single wait is longer than this, whatever a Retry-After header asks for. */
export const MAX_DELAY_MS = 60_000;

/** Knobs of the retry loop; tests shrink the delays and inject randomness and sleep. */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Uniform [0,1) source for jitter. */
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Waits ms milliseconds, or rejects early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The production policy. */
export function defaultRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { maxAttempts: MAX_ATTEMPTS, baseDelayMs: BASE_DELAY_MS, maxDelayMs: MAX_DELAY_MS, random: Math.random, sleep, ...overrides };
}

/**
 * Delay before retry number `attempt` (1 = after the first failure): exponential with "full
 * jitter" so that parallel coders hitting one 429 do not retry in lockstep. A server's
 * Retry-After wins when present (it knows its own queue), capped at maxDelayMs.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Half fixed, half random: never retry instantly, still spread out.
  return Math.round(ceiling / 2 + (policy.random() * ceiling) / 2);
}

/** Reads retry-after-ms / Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
