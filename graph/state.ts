/**
 * The search's graph state: ids, scores and short summaries only. Kernel sources, prompts,
 * reasoning and logs live in the trace store; the tree itself is read from there too, so a
 * checkpoint stays a few kilobytes however large the tree grows.
 */
import { z } from "zod";
import { ReducedValue, StateSchema } from "@langchain/langgraph";
import type { NodeStatus } from "../memory/trace-types.ts";
import type { StopReason } from "./budget.ts";

// Compile-time check that a zod enum lists exactly the members of a union kept elsewhere.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** A tree node's status (memory/trace-types.ts says what each means). */
const Status = z.enum(["root", "coding", "coded", "no_kernel", "failed", "ok", "compile_error", "runtime_error", "wrong_output", "timeout", "rejected"]);
const _statusMatches: Same<z.infer<typeof Status>, NodeStatus> = true;

/** Why the search ends (graph/budget.ts). */
const Stop = z.enum(["budget:wall", "budget:nodes", "budget:tokens", "budget:cost", "target", "exhausted"]);
const _stopMatches: Same<z.infer<typeof Stop>, StopReason> = true;

/** The node chosen for expansion this iteration. */
export const Selected = z.object({
  nodeId: z.string(),
  mode: z.enum(["fresh", "improve", "repair"]),
  reason: z.string(),
});

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

/** The current iteration's candidates by node id; `null` clears the batch (a new iteration). */
const Batch = new ReducedValue(z.record(z.string(), BatchEntry).default(() => ({})), {
  inputSchema: z.record(z.string(), BatchEntry).nullable(),
  reducer: (current, update) => (update === null ? {} : { ...current, ...update }),
});

/** The graph's state schema. */
export const SearchState = new StateSchema({
  runId: z.string(),
  problem: z.string(),
  /** Expansions started so far; child node ids are "<run>.<iteration>.<k>". */
  iteration: z.number().int().default(0),
  selected: Selected.nullable().default(null),
  children: z.array(PlannedChild).default(() => []),
  /** The child a `code` task works on (the payload of its Send). */
  task: PlannedChild.nullable().default(null),
  batch: Batch,
  best: z.object({ nodeId: z.string(), speedup: z.number() }).nullable().default(null),
  /** Set when the profiler turned out unusable for this run (no ncu, no counter permission): why. */
  profilerOff: z.string().nullable().default(null),
  /** Why the search ends (null while it goes on). */
  stop: Stop.nullable().default(null),
});

export type SearchStateValue = typeof SearchState.State;
export type SearchStateUpdate = typeof SearchState.Update;
