/**
 * The search's graph states: ids, scores and short summaries only. Kernel sources, prompts,
 * reasoning and logs live in the trace store; the tree itself is read from there too, so a
 * checkpoint stays a few kilobytes however large the tree grows. Two graphs, two states: the search
 * (which expansions are open, why it stops) and one expansion (plan → code → verify → ... of one node).
 */
import { z } from "zod";
import { ReducedValue, StateSchema } from "@langchain/langgraph";
import { NODE_STATUSES, type NodeStatus } from "../memory/trace-types.ts";
import type { StopReason } from "./budget.ts";

// Compile-time check that a zod enum lists exactly the members of a union kept elsewhere.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** A tree node's status (memory/trace-types.ts says what each means). */
const Status = z.enum(NODE_STATUSES);
const _statusMatches: Same<z.infer<typeof Status>, NodeStatus> = true;

/** Why the search ends (graph/budget.ts). */
const Stop = z.enum(["budget:wall", "budget:nodes", "budget:tokens", "budget:cost", "target", "exhausted"]);
const _stopMatches: Same<z.infer<typeof Stop>, StopReason> = true;

/** The node chosen for one expansion: how, why, and how many children the node budget reserved for it. */
export const Selected = z.object({
  nodeId: z.string(),
  mode: z.enum(["fresh", "improve", "repair"]),
  reason: z.string(),
  /** Children this expansion may plan (reserved at selection, so expansions in flight never overshoot --max-nodes). */
  quota: z.number().int().positive(),
});
export type Selected = z.infer<typeof Selected>;

/** An expansion the search started and has not seen finish: its iteration (child ids "<run>.<iteration>.<k>") and its node. */
export const OpenExpansion = Selected.extend({ iteration: z.number().int().positive() });
export type OpenExpansion = z.infer<typeof OpenExpansion>;

/** The search's state: the expansions in flight (by iteration) and why the search ends. */
export const SearchState = new StateSchema({
  runId: z.string(),
  problem: z.string(),
  /** Expansions started so far (the last iteration number handed out). */
  iteration: z.number().int().default(0),
  /** Expansions started and not yet finished, keyed by iteration: each runs on its own checkpoint thread. */
  open: z.record(z.string(), OpenExpansion).default(() => ({})),
  /** Set when the profiler turned out unusable for this run (no ncu, no counter permission): why. */
  profilerOff: z.string().nullable().default(null),
  /** Why the search ends (null while it goes on); once set, no expansion starts and the open ones drain. */
  stop: Stop.nullable().default(null),
});

export type SearchStateValue = typeof SearchState.State;
export type SearchStateUpdate = typeof SearchState.Update;

/** One idea of the current plan: the child node it becomes and a short title (the full text is in the store). */
export const PlannedChild = z.object({ nodeId: z.string(), index: z.number().int(), title: z.string() });
export type PlannedChild = z.infer<typeof PlannedChild>;

/** Where one candidate of the current batch stands. */
export const BatchEntry = z.object({
  status: Status,
  speedup: z.number().nullable(),
  summary: z.string(),
});
export type BatchEntry = z.infer<typeof BatchEntry>;

/** The expansion's candidates by node id (coders and the verifier add entries). */
const Batch = new ReducedValue(
  z.record(z.string(), BatchEntry).default(() => ({})),
  {
    inputSchema: z.record(z.string(), BatchEntry),
    reducer: (current, update) => ({ ...current, ...update }),
  },
);

/** One expansion's state: its node, its plan's children and how each candidate fared. */
export const ExpansionState = new StateSchema({
  runId: z.string(),
  problem: z.string(),
  /** This expansion's iteration: child node ids are "<run>.<iteration>.<k>". */
  iteration: z.number().int(),
  selected: Selected,
  children: z.array(PlannedChild).default(() => []),
  /** The child a `code` task works on (the payload of its Send). */
  task: PlannedChild.nullable().default(null),
  batch: Batch,
  best: z.object({ nodeId: z.string(), speedup: z.number() }).nullable().default(null),
  /** The run's profiler verdict when this expansion started, or what this expansion learnt. */
  profilerOff: z.string().nullable().default(null),
});

export type ExpansionStateValue = typeof ExpansionState.State;
export type ExpansionStateUpdate = typeof ExpansionState.Update;
