/** `kforge resume RUN --budget 2h`: more wall time for a run, counted from this resume, recorded in the run. */
import type { TraceStore } from "../../memory/trace-store.ts";
import { formatDuration, type BudgetLimits } from "../../graph/budget.ts";

/**
 * The run's limits with `moreMs` of wall time from now: its time spent so far plus `moreMs` (the
 * other limits unchanged), written to the run's budget so later resumes and `kforge runs` see it.
 */
export function extendBudget(store: TraceStore, runId: string, limits: BudgetLimits, moreMs: number): BudgetLimits {
  const spent = store.getRun(runId)?.activeMs ?? 0;
  const extended: BudgetLimits = { ...limits, wallMs: spent + moreMs };
  store.setBudget(runId, extended);
  store.recordEvent(
    runId,
    null,
    "budget",
    `budget extended on resume: ${formatDuration(moreMs)} from here, wall ${formatDuration(limits.wallMs)} → ${formatDuration(extended.wallMs)} (${formatDuration(spent)} already spent)`,
  );
  return extended;
}
