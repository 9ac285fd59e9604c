/**
 * The real edges of a search, chosen from the config: the verifier pool, the ncu profiler, the
 * agents (agents/model.ts decides: a model per role, or the offline policy) with the run's budget
 * gate and endpoint breakers, and the memory of wins.
 */
import type { Config } from "../../core/config.ts";
import type { DB } from "../../memory/db.ts";
import type { TraceStore } from "../../memory/trace-store.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { Verifier } from "../../tools/verifier/types.ts";
import type { Profiler } from "../../tools/profiler/types.ts";
import type { Agents } from "../../agents/types.ts";
import type { WinsMemory } from "../../graph/deps.ts";
import type { BudgetLimits } from "../../graph/budget.ts";
import { createAgents } from "../../agents/model.ts";
import { SpendGate } from "../../agents/spend-gate.ts";
import { openWinsMemory } from "../../graph/wins-memory.ts";
import { NcuProfiler } from "../../tools/profiler/ncu.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";
import { openQueueVerifier } from "../../tools/queue/open.ts";
import { EndpointUnreachableError } from "../../core/errors.ts";

/** The opened edges and how to close them. */
export interface SearchComponents {
  verifier: Verifier;
  profiler: Profiler | null;
  agents: Agents;
  memory: WinsMemory | null;
  /** The run's token and money budgets as model calls reserve them (null for the offline policy: it makes no calls). */
  spend: SpendGate | null;
  /** Aborted when a model endpoint's breaker gives up: driveRun stops the run as `stopped`. */
  endpointDown: AbortSignal;
  /** The GPU's name when known before a baseline is measured. */
  gpu: string | null;
  /** Where breaker news goes besides the trace (the progress display, once it exists). */
  setLog(log: (line: string) => void): void;
  /** Names the GPU the verifier probed, for every prompt from now on. */
  setGpu(name: string): void;
  close(): Promise<void>;
}

/** The run the components serve: its id (the row may not exist yet) and its budget. */
export interface RunRef {
  runId: string;
  limits: BudgetLimits;
}

/** Opens every edge of a search for `problem`; throws ConfigError before anything runs when the model settings are wrong. */
export async function openComponents(config: Config, problem: LoadedProblem, db: DB, store: TraceStore, run: RunRef): Promise<SearchComponents> {
  let log: (line: string) => void = () => {};
  // Until the verifier has probed the GPU (with the baselines), prompts name no particular model.
  let gpu = "the GPU the verifier runs on";
  const endpointDown = new AbortController();
  const spend = new SpendGate(
    {
      ...(run.limits.maxTokens !== undefined ? { maxTokens: run.limits.maxTokens } : {}),
      ...(run.limits.maxCostUsd !== undefined ? { maxCostUsd: run.limits.maxCostUsd } : {}),
    },
    () => {
      const t = store.runTotals(run.runId);
      return { tokens: t.promptTokens + t.completionTokens, costUsd: t.costUsd };
    },
    config.modelLimits.maxReplyTokens,
  );
  const agents = createAgents(config, {
    record: (c) => store.recordLlmCall(c),
    gpu: () => gpu,
    spend,
    onBreaker: (kind, message) => {
      store.recordEvent(run.runId, null, kind, message);
      log(message);
      if (kind === "endpoint_unreachable") endpointDown.abort(new EndpointUnreachableError(message));
    },
  });
  const queueLog = (line: string) => {
    try {
      store.recordEvent(run.runId, null, "queue", line); // refused replies and reclaimed jobs stay in the trace
    } catch {
      // before the run's row exists: the display still shows it
    }
    log(line);
  };
  const verifier = config.queue.url ? await openQueueVerifier(config, config.queue.url, problem, queueLog) : createVerifierPool(config, { problem });
  const cpu = (problem.spec as { device?: string }).device === "cpu";
  return {
    verifier,
    // ncu profiles CUDA kernels only: a CPU problem has nothing to profile.
    profiler: cpu ? null : "remote" in verifier ? verifier.remote : new NcuProfiler(config), // with a queue: ncu on the worker's GPU
    agents,
    memory: openWinsMemory(db),
    spend: agents.kind === "llm" ? spend : null,
    endpointDown: endpointDown.signal,
    gpu: null,
    setLog: (l) => (log = l),
    // The harness reports "cpu" for the CPU lane: say what that is rather than "GPU kernels on cpu".
    setGpu: (name) => (gpu = name === "cpu" ? "the CPU (a test problem on the verifier's CPU lane, no GPU involved)" : name),
    close: () => verifier.close(),
  };
}
