/** How a session's wall time splits between checks, baselines and the search itself, against the budget. */
import { formatDuration } from "../../graph/budget.ts";

/** Milliseconds of one session (a search or a resume) by phase, and the run's wall budget. */
export interface SessionTime {
  /** Spent by earlier sessions of this run (0 for a new search). */
  earlierMs: number;
  /** From the command's start to the baselines: configuration, pre-flight and sandbox checks. */
  setupMs: number;
  /** Measuring the baselines (near 0 on a resume, which reuses them). */
  baselinesMs: number;
  /** The graph: candidates written, verified, profiled. */
  searchMs: number;
  /** The run's wall budget (all sessions). */
  budgetMs: number;
}

/** `1m28s of 1m30s: checks 2s, baselines 41s, search 45s` (earlier sessions named when there were any). */
export function describeTime(t: SessionTime): string {
  const total = t.earlierMs + t.setupMs + t.baselinesMs + t.searchMs;
  const parts = [
    ...(t.earlierMs > 0 ? [`earlier sessions ${formatDuration(t.earlierMs)}`] : []),
    `checks ${formatDuration(t.setupMs)}`,
    `baselines ${formatDuration(t.baselinesMs)}`,
    `search ${formatDuration(t.searchMs)}`,
  ];
  return `${formatDuration(total)} of ${formatDuration(t.budgetMs)}: ${parts.join(", ")}`;
}
