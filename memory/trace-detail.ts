/**
 * What the trace keeps about one node, read through TraceQueries: the whole detail the UI and
 * `kforge trace --node` show (JSON documents as recorded), and the typed latest critique, profile
 * and plan the search's agents read back (parsed with the schemas that produced them).
 */
import { z } from "zod";
import { Bottlenecks } from "../agents/profiler/schema.ts";
import { Critique } from "../agents/critic/schema.ts";
import { Idea } from "../agents/planner/schema.ts";
import { ProfileSummary, type ProfileOutcome } from "../tools/profiler/types.ts";
import { VerifyResult } from "../tools/verifier/result.ts";
import { jsonText, parseRow, SeedRecord } from "./trace-rows.ts";
import type { TraceQueries } from "./trace-queries.ts";
import type { NodeDetail } from "./trace-types.ts";

/** A stored JSON column whose shape the reader does not check (shown as recorded). */
const anyJson = jsonText(z.unknown());
const optionalJson = z.union([z.null(), anyJson]);

const VerificationRecord = z.object({
  status: z.string(),
  speedup: z.number().nullable(),
  tflops: z.number().nullable(),
  result: anyJson,
  created_at: z.number(),
});
const ProfileRecord = z.object({ status: z.string(), outcome: anyJson, bottlenecks: optionalJson, cost_ms: z.number(), created_at: z.number() });
const CritiqueRecord = z.object({ verdict: z.string(), critique: anyJson, created_at: z.number() });

/** A profile outcome as the profile node records it. */
export const StoredProfileOutcome: z.ZodType<ProfileOutcome> = z.discriminatedUnion("status", [
  z.object({ status: z.literal("ok"), summary: ProfileSummary, costMs: z.number() }),
  z.object({ status: z.literal("unavailable"), reason: z.string(), costMs: z.number() }),
  z.object({ status: z.literal("failed"), reason: z.string(), costMs: z.number() }),
]);

/** A plan as the plan node records it: its ideas, each maybe naming the memory wins it started from. */
export const StoredPlan = z.object({ ideas: z.array(Idea.extend({ seededBy: z.array(z.string()).optional() })) });
export type StoredPlan = z.infer<typeof StoredPlan>;

/** Everything of one node, or null when there is no such node. */
export function nodeDetail(q: TraceQueries, nodeId: string): NodeDetail | null {
  const node = q.getNode(nodeId);
  if (!node) return null;
  const s = q.s;
  const plan = node.parentId ? (s.planByIteration.get(node.runId, node.iteration) as { plan: string } | undefined) : undefined;
  const childPlan = s.planOfNode.get(nodeId) as string | undefined;
  return {
    node,
    idea: q.idea(nodeId),
    kernel: q.kernel(nodeId),
    parentKernel: node.parentId ? q.kernel(node.parentId) : null,
    plan: plan ? parseRow(anyJson, plan.plan, "plan") : null,
    childPlan: childPlan ? parseRow(anyJson, childPlan, "plan") : null,
    llmCalls: q.nodeCalls(nodeId),
    verifications: s.verifications.all(nodeId).map((r) => {
      const v = parseRow(VerificationRecord, r, "verification");
      return { status: v.status, speedup: v.speedup, tflops: v.tflops, result: v.result, createdAt: v.created_at };
    }),
    profiles: s.profiles.all(nodeId).map((r) => {
      const p = parseRow(ProfileRecord, r, "profile");
      return { status: p.status, outcome: p.outcome, bottlenecks: p.bottlenecks, costMs: p.cost_ms, createdAt: p.created_at };
    }),
    critiques: s.critiques.all(nodeId).map((r) => {
      const c = parseRow(CritiqueRecord, r, "critique");
      return { verdict: c.verdict, critique: c.critique, createdAt: c.created_at };
    }),
    seeds: s.nodeSeeds.all(nodeId).map((r) => {
      const { winId, rank, score, note } = parseRow(SeedRecord, r, "seed");
      return { winId, rank, score, note };
    }),
    events: q.nodeEvents(nodeId),
    children: s.children.all(nodeId) as string[],
  };
}

/** The node's latest verification as a typed result, or null when it has none. */
export function latestVerification(q: TraceQueries, nodeId: string): VerifyResult | null {
  const rows = q.s.verifications.all(nodeId) as { result: string }[];
  const last = rows[rows.length - 1];
  return last ? parseRow(jsonText(VerifyResult), last.result, `verification of ${nodeId}`) : null;
}

/** The critic's latest critique of the node, or null. */
export function latestCritique(q: TraceQueries, nodeId: string): Critique | null {
  const rows = q.s.critiques.all(nodeId) as { critique: string }[];
  const last = rows[rows.length - 1];
  return last ? parseRow(jsonText(Critique), last.critique, `critique of ${nodeId}`) : null;
}

/** The node's latest profile outcome and the profiler agent's bottlenecks (null until analysed), or null. */
export function latestProfile(q: TraceQueries, nodeId: string): { outcome: ProfileOutcome; bottlenecks: Bottlenecks | null } | null {
  const rows = q.s.profiles.all(nodeId) as { outcome: string; bottlenecks: string | null }[];
  const last = rows[rows.length - 1];
  if (!last) return null;
  return {
    outcome: parseRow(jsonText(StoredProfileOutcome), last.outcome, `profile of ${nodeId}`),
    bottlenecks: last.bottlenecks === null ? null : parseRow(jsonText(Bottlenecks), last.bottlenecks, `bottlenecks of ${nodeId}`),
  };
}

/** The plan recorded for a run's iteration and the node it expanded, or null. */
export function recordedPlan(q: TraceQueries, runId: string, iteration: number): { nodeId: string; plan: StoredPlan } | null {
  const row = q.s.planByIteration.get(runId, iteration) as { node_id: string; plan: string } | undefined;
  return row ? { nodeId: row.node_id, plan: parseRow(jsonText(StoredPlan), row.plan, `plan of ${runId} iteration ${iteration}`) } : null;
}
