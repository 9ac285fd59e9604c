/** Everything the graph's nodes use, injected once when the graph is built (tests swap the edges: server, verifier). */
import type { LoadedProblem } from "../problems/schema.ts";
import type { TraceStore } from "../memory/trace-store.ts";
import type { BaselineTimings, Verifier } from "../tools/verifier/types.ts";
import type { Profiler } from "../tools/profiler/types.ts";
import type { Agents, Exemplar } from "../agents/types.ts";
import type { BudgetLimits, StopReason } from "./budget.ts";
import type { PolicyOptions } from "./policy.ts";
import type { InflightSetting } from "./inflight.ts";
import type { LaneStats } from "./lanes-meter.ts";
import type { ExpansionRunner } from "./expansions.ts";

/** A verified win handed to the memory. */
export interface WinRecord {
  problem: LoadedProblem;
  runId: string;
  nodeId: string;
  source: string;
  speedup: number;
  tflops: number | null;
  gpu: string | null;
  keyIdeas: string[];
}

/** The memory of wins as the search sees it (optional: a search runs without one). */
export interface WinsMemory {
  retrieve(problem: LoadedProblem, opts: { k: number; gpu?: string }): Exemplar[] | Promise<Exemplar[]>;
  remember(win: WinRecord): unknown;
  /** Files which wins seeded which node in the memory's own records (the trace keeps its copy too). */
  recordSeeding?(runId: string, nodeId: string, winIds: string[]): void;
}

/** Tunables of the search (the budget is separate). */
export interface SearchOptions {
  /** Ideas (children) per expansion. */
  branching: number;
  /** Expansions in flight at once (graph/inflight.ts); `auto` keeps the verification lanes busy. */
  inflight: InflightSetting;
  seed: number;
  /** Profile a correct candidate when it is the new best or among the run's top N. */
  profileTop: number;
  maxProfilesPerIteration: number;
  /** Prior wins shown in prompts. */
  exemplars: number;
  policy: Omit<PolicyOptions, "seed" | "iteration">;
}

/** Branching 4, expansions in flight sized automatically, profile the top 3, three prior wins per prompt. */
export const DEFAULT_SEARCH_OPTIONS: SearchOptions = {
  branching: 4,
  inflight: "auto",
  seed: 0,
  profileTop: 3,
  maxProfilesPerIteration: 2,
  exemplars: 3,
  policy: { exploration: 0.5, maxDepth: 12, maxRepairChain: 2 },
};

/** What is going on right now, for the live display and log lines. */
export interface Progress {
  /** `text` null clears the activity `key`. */
  activity(key: string, text: string | null): void;
  log(line: string): void;
  /** Where the lanes and expansions stand, for a live display to read at each redraw (given once per session). */
  pipeline?(read: () => PipelineStatus): void;
}

/** The pipeline right now: verification lanes busy and idle, jobs queued, expansions in flight. */
export interface PipelineStatus {
  lanes: LaneStats;
  expansions: number;
  /** How many expansions the search keeps in flight at the moment. */
  target: number;
}

/** The injected edges and settings of one run's graph. */
export interface GraphDeps {
  runId: string;
  problem: LoadedProblem;
  store: TraceStore;
  verifier: Verifier;
  /** Absent: the search runs on timing feedback only, and the trace says so. */
  profiler: Profiler | null;
  agents: Agents;
  memory: WinsMemory | null;
  limits: BudgetLimits;
  /** The budgets model calls reserve against (agents/spend-gate.ts): says when not one more call fits. */
  spend?: { exhausted(): StopReason | null };
  options: SearchOptions;
  /** Search time spent so far, previous sessions of the run included. */
  elapsedMs(): number;
  baseline?: BaselineTimings;
  gpu: string | null;
  /** Aborted on Ctrl-C or when the wall budget's grace is over: in-flight work stops. */
  signal: AbortSignal;
  progress: Progress;
  /** The verification lanes (graph/lanes-meter.ts; `verifier` goes through them). */
  lanes: { stats(): LaneStats };
  /** The expansions in flight (graph/expansions.ts). */
  expansions: ExpansionRunner;
}
