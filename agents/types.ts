/**
 * The agents as the graph sees them: plan, code, critique, analyse a profile. The LLM agents
 * (agents/llm-agents.ts) and the offline policy implement the same `Agents` object, so the graph
 * never knows whether a model is behind a step.
 */
import type { LoadedProblem } from "../problems/schema.ts";
import type { NodeRow } from "../memory/trace-types.ts";
import type { VerifyResult } from "../tools/verifier/result.ts";
import type { ProfileSummary } from "../tools/profiler/types.ts";
import type { Bottlenecks } from "./profiler/schema.ts";
import type { Critique } from "./critic/schema.ts";
import type { Idea } from "./planner/schema.ts";

export type { Bottlenecks } from "./profiler/schema.ts";
export type { Critique } from "./critic/schema.ts";
export type { Idea, Plan } from "./planner/schema.ts";

/** A tree node with what the prompts need about it (read from the trace store). */
export interface NodeView {
  row: NodeRow;
  idea: string;
  kernel: string | null;
  verification: VerifyResult | null;
  critique: Critique | null;
  profile: { summary: ProfileSummary | null; note: string | null; bottlenecks: Bottlenecks | null } | null;
}

/** A prior verified win from the memory, as the prompts show it. */
export interface Exemplar {
  id: string;
  problem: string;
  speedup: number;
  tflops: number | null;
  gpu: string | null;
  keyIdeas: string[];
  /** The kernel source (may be truncated by the memory). */
  source: string;
  /** Why it was retrieved (shared features), for the prompt and the trace. */
  why: string;
  /** The variant features this win shares with the problem (softcap, causal, windowed...); empty when none. */
  shared?: string[];
  score: number | null;
}

/** Where an agent's model calls are filed in the trace, and how to stop them. */
export interface AgentCallContext {
  runId: string;
  /** The tree node the call belongs to (the expanded node for the planner, the candidate for the coder). */
  nodeId: string;
  signal?: AbortSignal;
}

/** What the planner reads. */
export interface PlanInput {
  problem: LoadedProblem;
  /** The node being expanded (the root when starting from scratch). */
  parent: NodeView;
  /** Root → parent, compact. */
  ancestry: NodeRow[];
  /** Children the parent already has (ideas tried from here), to avoid repeats. */
  tried: NodeRow[];
  /** The idea texts of every node in the tree (read on demand: an offline policy excludes configs already tried). */
  knownIdeas: () => string[];
  /** The best kernel of the run so far (when it is not the parent). */
  best: NodeView | null;
  exemplars: Exemplar[];
  /** How many ideas to propose. */
  count: number;
  /** `improve` a correct kernel, `repair` a failed one, or start `fresh` from the problem. */
  mode: "fresh" | "improve" | "repair";
}

/**
 * An idea as the graph records it: `seededBy` names the memory-of-wins entries the child starts from (the
 * offline policy adapting a prior win's config). Without it, every exemplar in the planner's prompt counts
 * as a seed of a model's idea, and none of an offline idea.
 */
export type PlannedIdea = Idea & { seededBy?: string[] };

/** A plan, plus a note when the agent had to fall back (its reply was unusable). */
export interface PlanOutcome {
  ideas: PlannedIdea[];
  rationale: string;
  /** Set when the planner's reply was unusable and generic ideas were used instead. */
  fallback?: string;
}

/** What the coder reads. */
export interface CodeInput {
  problem: LoadedProblem;
  parent: NodeView;
  idea: Idea;
  /** The index of this idea in its plan (an offline policy uses it to pick a variant). */
  index: number;
  exemplars: Exemplar[];
  mode: PlanInput["mode"];
}

/** The coder's result: a kernel, or why there is none (data, never an exception). */
export type CodeOutcome =
  | { status: "ok"; source: string; origin: "llm" | "offline" | "memory"; notes?: string[] }
  | { status: "no_kernel"; reason: string }
  | { status: "failed"; reason: string };

/** One verified candidate of a batch, for the critic. */
export interface CritiqueCandidate {
  view: NodeView;
}

/** What the critic reads: sibling candidates and their parent. */
export interface CritiqueInput {
  problem: LoadedProblem;
  parent: NodeView;
  candidates: CritiqueCandidate[];
  bestSpeedup: number | null;
}

/** What the profiler agent reads. */
export interface ProfileAnalysisInput {
  problem: LoadedProblem;
  node: NodeView;
  summary: ProfileSummary;
}

/** Everything that proposes, writes and judges kernels. */
export interface Agents {
  readonly kind: "llm" | "offline";
  plan(input: PlanInput, ctx: AgentCallContext): Promise<PlanOutcome>;
  code(input: CodeInput, ctx: AgentCallContext): Promise<CodeOutcome>;
  /** Critiques keyed by node id; a candidate missing from the map gets a rule-based critique. */
  critique(input: CritiqueInput, ctx: AgentCallContext): Promise<Map<string, Critique>>;
  /** Turns a profile into bottlenecks; absent when the implementation cannot (the summary alone is fed back). */
  analyzeProfile?(input: ProfileAnalysisInput, ctx: AgentCallContext): Promise<Bottlenecks | null>;
}
