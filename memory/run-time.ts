/**
 * How long a run has run, computed one way for `kforge runs`, the search summary and the trace
 * explorer (header and panel): the search time the run's heartbeats recorded, summed over resumes,
 * plus the seconds since its last heartbeat while it is alive. Pure, so the web page bundles it too.
 */

/** A running run whose process has not beaten for this long has probably died (killed, crashed). */
export const STALE_HEARTBEAT_MS = 3 * 60_000;

/** The stored fields the run time is computed from. */
export interface RunClock {
  status: string;
  activeMs: number;
  heartbeatAt: number | null;
}

/** The run's time in milliseconds at `now`, and whether a "running" run has stopped beating. */
export function runTime(r: RunClock, now = Date.now()): { ms: number; stale: boolean } {
  if (r.status !== "running" || r.heartbeatAt === null) return { ms: Math.max(0, r.activeMs), stale: r.status === "running" };
  const sinceBeat = Math.max(0, now - r.heartbeatAt);
  if (sinceBeat > STALE_HEARTBEAT_MS) return { ms: Math.max(0, r.activeMs), stale: true };
  return { ms: Math.max(0, r.activeMs + sinceBeat), stale: false };
}

/** `1h02m`, `4m05s` or `12s` (whole seconds, rounded down, as budgets are counted). */
export function formatRunTime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}
