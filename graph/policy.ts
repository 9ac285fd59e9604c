/**
 * The tree policy: which node to expand next. Pure and seeded (same tree, seed and iteration →
 * same choice). Best-first with an exploration bonus, UCT-like over verified speedup; failures
 * that came close (compile errors, wrong output near tolerance) compete as repairs, which is what
 * the search falls back on while nothing is correct yet.
 */
import type { NodeStatus } from "../memory/trace-types.ts";

/** What the policy needs to know about a node. */
export interface PolicyNode {
  id: string;
  parentId: string | null;
  depth: number;
  status: NodeStatus;
  speedup: number | null;
  /** For wrong_output: worst max-error / allowance over failing checks (null when non-finite). */
  errorRatio: number | null;
  hasKernel: boolean;
  iteration: number;
}

/** Knobs of the tree policy (seed and iteration make it deterministic). */
export interface PolicyOptions {
  seed: number;
  iteration: number;
  /** Weight of the exploration bonus (UCT's c). */
  exploration: number;
  maxDepth: number;
  /** How many failed ancestors in a row a repair chain may have before it is abandoned. */
  maxRepairChain: number;
}

/** The policy's defaults. */
export const DEFAULT_POLICY: Omit<PolicyOptions, "seed" | "iteration"> = { exploration: 0.5, maxDepth: 12, maxRepairChain: 2 };

/** How a selected node is expanded. */
export type ExpandMode = "fresh" | "improve" | "repair";

/** The node to expand, how, and why (for the trace). */
export interface Choice {
  nodeId: string;
  mode: ExpandMode;
  score: number;
  reason: string;
}

/** Prior value of repairing a failure of each kind (the root starts fresh from 0.7 while nothing is correct). */
const REPAIR_PRIOR: Record<string, number> = { compile_error: 0.55, runtime_error: 0.45, timeout: 0.15, rejected: 0.1 };
const ROOT_VALUE_NOTHING_CORRECT = 0.7;
const ROOT_VALUE_ONCE_CORRECT = 0.2;

/** Nodes the policy must not pick: those being expanded, and the children of expansions still in flight. */
export interface Busy {
  /** Nodes an expansion in flight is working from. */
  nodes: ReadonlySet<string>;
  /** Iterations of the expansions in flight: their children are not finished (verified, critiqued) yet. */
  iterations: ReadonlySet<number>;
}

const NOT_BUSY: Busy = { nodes: new Set(), iterations: new Set() };

/** Picks the node to expand, or null when no node can be expanded. */
export function chooseNode(nodes: PolicyNode[], opts: PolicyOptions, busy: Busy = NOT_BUSY): Choice | null {
  return chooseNodes(nodes, opts, 1, busy)[0] ?? null;
}

/**
 * Picks up to `count` distinct nodes to expand at once, best score first, none of them busy (an
 * expansion in flight works from it, or it is a child of one not finished yet). Fewer when the
 * frontier is smaller: at the start only the root can be expanded.
 */
export function chooseNodes(nodes: PolicyNode[], opts: PolicyOptions, count: number, busy: Busy = NOT_BUSY): Choice[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const expansions = new Map<string, Set<number>>();
  for (const n of nodes) {
    if (n.parentId === null) continue;
    const s = expansions.get(n.parentId) ?? new Set<number>();
    s.add(n.iteration);
    expansions.set(n.parentId, s);
  }
  const total = [...expansions.values()].reduce((a, s) => a + s.size, 0);
  const best = nodes.reduce<number | null>(
    (m, n) => (n.status === "ok" && n.speedup !== null && (m === null || n.speedup > m) ? n.speedup : m),
    null,
  );
  const anyCorrect = nodes.some((n) => n.status === "ok");
  const quality = (n: PolicyNode): number => (n.status === "ok" ? (n.speedup !== null && best ? n.speedup / best : 0.5) : 0.5);

  const choices: Choice[] = [];
  for (const n of nodes) {
    if (busy.nodes.has(n.id) || busy.iterations.has(n.iteration)) continue;
    const value = nodeValue(n, { anyCorrect, best, byId, quality, maxRepairChain: opts.maxRepairChain });
    if (value === null || n.depth >= opts.maxDepth) continue;
    const visits = expansions.get(n.id)?.size ?? 0;
    if (n.status !== "root" && n.status !== "ok" && visits > 0) continue; // a failure is repaired once; its child carries on
    const bonus = opts.exploration * Math.sqrt(Math.log(total + 1) / (visits + 1));
    const score = value + bonus + jitter(opts.seed, opts.iteration, n.id) * 1e-6;
    const mode: ExpandMode = n.status === "root" ? "fresh" : n.status === "ok" ? "improve" : "repair";
    const what = n.status === "root" ? "fresh start" : n.status === "ok" ? `improve ${n.speedup?.toFixed(2) ?? "?"}x` : `repair ${n.status}`;
    choices.push({ nodeId: n.id, mode, score, reason: `${what}, ${visits} expansion(s), value ${value.toFixed(2)} + bonus ${bonus.toFixed(2)}` });
  }
  // Best first; equal scores (the jitter makes them rare) by id, so the order never depends on the input's.
  choices.sort((a, b) => b.score - a.score || (a.nodeId < b.nodeId ? -1 : 1));
  return choices.slice(0, Math.max(0, count));
}

function nodeValue(
  n: PolicyNode,
  ctx: { anyCorrect: boolean; best: number | null; byId: Map<string, PolicyNode>; quality: (n: PolicyNode) => number; maxRepairChain: number },
): number | null {
  if (n.status === "root") return ctx.anyCorrect ? ROOT_VALUE_ONCE_CORRECT : ROOT_VALUE_NOTHING_CORRECT;
  if (n.status === "ok") return ctx.best !== null && n.speedup !== null ? n.speedup / ctx.best : 0.5;
  if (!n.hasKernel) return null; // nothing to repair: the parent is expanded again instead
  let prior: number | undefined = REPAIR_PRIOR[n.status];
  if (n.status === "wrong_output") prior = n.errorRatio === null ? 0.2 : n.errorRatio <= 2 ? 0.75 : n.errorRatio <= 10 ? 0.5 : 0.25;
  if (prior === undefined) return null; // not verified yet (coding, coded) or no kernel
  if (failedChain(n, ctx.byId) > ctx.maxRepairChain) return null;
  const parent = n.parentId ? ctx.byId.get(n.parentId) : undefined;
  const parentQuality = !parent || parent.status === "root" ? 1 : ctx.quality(parent);
  return prior * (0.5 + 0.5 * parentQuality);
}

/** How many failed nodes in a row end at `n` (n included). */
function failedChain(n: PolicyNode, byId: Map<string, PolicyNode>): number {
  let count = 0;
  for (
    let cur: PolicyNode | undefined = n;
    cur && cur.status !== "ok" && cur.status !== "root";
    cur = cur.parentId ? byId.get(cur.parentId) : undefined
  )
    count++;
  return count;
}

/** A deterministic number in [0, 1) from the seed, iteration and node id (tie-breaks without bias). */
export function jitter(seed: number, iteration: number, id: string): number {
  let h = (2166136261 ^ seed) >>> 0;
  const s = `${iteration}:${id}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}
