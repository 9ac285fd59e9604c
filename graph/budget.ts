/**
 * Budgets of a search: wall time (`15m`, `8h`, `1h30m`), candidate nodes, tokens, money, and an
 * optional target speedup. Pure: the select node asks `stopReason` before each expansion.
 */
import { UserError } from "../core/errors.ts";

/** The limits of one run (absent = unlimited, except wall time which defaults to 15 minutes). */
export interface BudgetLimits {
  wallMs: number;
  maxNodes?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  targetSpeedup?: number;
}

/** What has been spent so far (summed over resumes). */
export interface BudgetUsage {
  elapsedMs: number;
  nodes: number;
  tokens: number;
  costUsd: number;
  bestSpeedup: number | null;
}

/** Why a search stopped. */
export type StopReason = "budget:wall" | "budget:nodes" | "budget:tokens" | "budget:cost" | "target" | "exhausted";

/** The default wall-time budget when none is given. */
export const DEFAULT_WALL_MS = 15 * 60_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `15m`, `8h`, `1h30m`, `2d`, `500ms` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed.replace(/\s/g, "") !== t.replace(/\s/g, "")) {
    throw new UserError(`cannot read the duration "${text}"`, { hint: "use e.g. 90s, 15m, 8h or 1h30m" });
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  if (ms <= 0) throw new UserError(`the duration "${text}" must be positive`);
  return Math.round(ms);
}

/** Formats milliseconds as `1h02m`, `4m05s` or `12s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** The first limit reached, or null to go on. The target counts only when set. */
export function stopReason(limits: BudgetLimits, used: BudgetUsage): StopReason | null {
  if (limits.targetSpeedup !== undefined && used.bestSpeedup !== null && used.bestSpeedup >= limits.targetSpeedup) return "target";
  if (used.elapsedMs >= limits.wallMs) return "budget:wall";
  if (limits.maxNodes !== undefined && used.nodes >= limits.maxNodes) return "budget:nodes";
  if (limits.maxTokens !== undefined && used.tokens >= limits.maxTokens) return "budget:tokens";
  if (limits.maxCostUsd !== undefined && used.costUsd >= limits.maxCostUsd) return "budget:cost";
  return null;
}

/** How many more candidate nodes the budget allows (Infinity without a node limit). */
export function nodesLeft(limits: BudgetLimits, used: Pick<BudgetUsage, "nodes">): number {
  return limits.maxNodes === undefined ? Infinity : Math.max(0, limits.maxNodes - used.nodes);
}

/**
 * How long past the wall budget in-flight work may run before it is cut: an R1 call takes minutes,
 * so a search stops starting new work at the deadline and aborts what is left after this grace.
 */
export function wallGraceMs(limits: BudgetLimits): number {
  return Math.min(120_000, Math.max(5_000, limits.wallMs * 0.1));
}

/** A one-line description of the limits, for logs. */
export function describeLimits(l: BudgetLimits): string {
  return [
    `wall ${formatDuration(l.wallMs)}`,
    l.maxNodes !== undefined ? `${l.maxNodes} nodes` : "",
    l.maxTokens !== undefined ? `${l.maxTokens} tokens` : "",
    l.maxCostUsd !== undefined ? `$${l.maxCostUsd}` : "",
    l.targetSpeedup !== undefined ? `target ${l.targetSpeedup}x` : "",
  ]
    .filter(Boolean)
    .join(", ");
}
