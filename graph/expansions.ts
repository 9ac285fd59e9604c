/**
 * The expansions in flight. Each one is an invocation of the expansion graph (graph.ts) on a
 * checkpoint thread of its own ("<run>/<iteration>"), so several run at once with no superstep
 * barrier between them: a slow critic in one never holds another's coders or the verification
 * lanes. The search graph's `collect` node starts the open ones and waits for any to finish; a run
 * resumed after kill -9 starts each open expansion again from its own last checkpoint.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { GraphDeps } from "./deps.ts";
import type { LanesMeter } from "./lanes-meter.ts";
import type { PipelineMeasures } from "./inflight.ts";
import type { ExpansionStateValue, OpenExpansion } from "./state.ts";

/** An expansion that ended, with what it learnt that the run keeps. */
export interface FinishedExpansion {
  iteration: number;
  profilerOff: string | null;
}

/** What the runner needs of the compiled expansion graph. */
export interface ExpansionGraph {
  invoke(input: Partial<ExpansionStateValue> | null, config: Record<string, unknown>): Promise<ExpansionStateValue>;
}

/** Expansion supersteps: plan, code, verify, profile, critique, remember (a backstop, as in run.ts). */
const EXPANSION_SUPERSTEPS = 100;

/** The checkpoint thread of one expansion. */
export function expansionThread(runId: string, iteration: number): string {
  return `${runId}/${iteration}`;
}

/** Starts, tracks and collects the run's expansions. */
export class ExpansionRunner {
  readonly #running = new Map<number, Promise<void>>();
  readonly #finished: FinishedExpansion[] = [];
  #failure: { error: unknown } | null = null;
  #wake: (() => void) | null = null;
  /** Expansions run outside the search graph's own invocation (see start()). */
  readonly #outside = AsyncLocalStorage.snapshot();
  #done = 0;
  #netMs = 0;
  #peak = 0;

  constructor(
    private readonly graph: ExpansionGraph,
    private readonly checkpointer: BaseCheckpointSaver,
    private readonly lanes: LanesMeter,
    private readonly deps: () => GraphDeps,
  ) {}

  /** Starts `e` unless it is running already (after a resume nothing is, so every open expansion starts again). */
  ensure(e: OpenExpansion, run: { runId: string; problem: string; profilerOff: string | null }): void {
    if (this.#running.has(e.iteration) || this.#finished.some((f) => f.iteration === e.iteration)) return;
    const started = performance.now();
    const { iteration, ...selected } = e;
    // Not inside the search graph's task: LangGraph would take the new invocation for a subgraph of it
    // and share that task's checkpoint namespace. Each expansion is an invocation of its own.
    const promise = this.#outside(() =>
      this.#run(iteration, { runId: run.runId, problem: run.problem, iteration, selected, profilerOff: run.profilerOff }),
    ).then(
      (final) => {
        this.#done++;
        this.#netMs += Math.max(0, performance.now() - started - (this.lanes.stats().meanWaitMs ?? 0));
        this.#finished.push({ iteration, profilerOff: final.profilerOff });
      },
      (error: unknown) => {
        this.#failure ??= { error };
      },
    );
    this.#running.set(iteration, promise);
    this.#peak = Math.max(this.#peak, this.#running.size);
    void promise.finally(() => {
      this.#running.delete(iteration);
      this.#wake?.();
    });
  }

  /** Waits until at least one expansion has finished and returns every finished one (each once); rethrows an expansion's failure. */
  async next(signal: AbortSignal): Promise<FinishedExpansion[]> {
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      if (this.#finished.length) return this.#finished.splice(0);
      if (signal.aborted) throw signal.reason;
      if (this.#running.size === 0) return [];
      await new Promise<void>((resolve) => {
        // One listener per wait, removed when it ends: a long run waits here thousands of times.
        const wake = () => {
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.#wake = wake;
        signal.addEventListener("abort", wake, { once: true });
      });
      this.#wake = null;
    }
  }

  /** Expansions running now. */
  running(): number {
    return this.#running.size;
  }

  /** The most expansions that ran at once in this session. */
  peak(): number {
    return this.#peak;
  }

  /** What inflight.ts sizes the pipeline from. */
  measures(): PipelineMeasures {
    const l = this.lanes.stats();
    return {
      lanes: l.lanes,
      expansionMs: this.#done ? this.#netMs / this.#done : null,
      laneMsPerExpansion: this.#done && l.meanServiceMs !== null ? (l.meanServiceMs * l.jobs) / this.#done : null,
    };
  }

  /** Resolves once nothing runs any more (call after aborting the run's signal, so no write outlives it). */
  async settle(): Promise<void> {
    while (this.#running.size) await Promise.allSettled([...this.#running.values()]);
  }

  async #run(iteration: number, input: Partial<ExpansionStateValue>): Promise<ExpansionStateValue> {
    const deps = this.deps();
    const thread = { configurable: { thread_id: expansionThread(deps.runId, iteration) } };
    // A thread with a checkpoint is resumed from it (a finished one just hands back its final state).
    const saved = await this.checkpointer.getTuple(thread);
    return this.graph.invoke(saved ? null : input, {
      ...thread,
      context: deps,
      durability: "sync",
      recursionLimit: EXPANSION_SUPERSTEPS,
      signal: deps.signal,
    });
  }
}
