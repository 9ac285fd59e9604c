/** collect: runs the open expansions (each on its own checkpoint thread) and waits until at least one has finished. */
import type { GraphDeps } from "../deps.ts";
import type { SearchStateUpdate, SearchStateValue } from "../state.ts";

/**
 * Starts every open expansion not yet running (after a resume: all of them, each from its own last
 * checkpoint), waits for any to finish, and closes the finished ones so `select` can fill their slots.
 */
export async function collect(state: SearchStateValue, deps: GraphDeps): Promise<SearchStateUpdate> {
  const run = { runId: state.runId, problem: state.problem, profilerOff: state.profilerOff };
  for (const e of Object.values(state.open)) deps.expansions.ensure(e, run);
  const finished = await deps.expansions.next(deps.signal);
  const open = { ...state.open };
  for (const f of finished) delete open[String(f.iteration)];
  const learnt = finished.find((f) => f.profilerOff !== null)?.profilerOff ?? null;
  return { open, ...(state.profilerOff === null && learnt !== null ? { profilerOff: learnt } : {}) };
}
