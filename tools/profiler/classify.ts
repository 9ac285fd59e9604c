/**
 * What bounds a launch, from its speed-of-light numbers (the Nsight Compute triage): memory or
 * compute when one reaches HIGH_SOL_PCT of peak; underutilised when the grid cannot fill the GPU;
 * latency otherwise (warps wait and neither unit is busy). Evidence strings cite the numbers.
 */
import type { Bound, ProfileSummary } from "./types.ts";

/** A unit at or above this share of its peak is the bound (NVIDIA's "60% of SOL" guidance). */
export const HIGH_SOL_PCT = 60;
/** Fewer waves than this means some SMs sit idle for the whole launch. */
export const MIN_WAVES = 1;

/** What the classifier reads: the short-keyed metrics, the stall shares and Triton's compile metadata. */
export interface ClassifyInput {
  metrics: Record<string, number>;
  stalls: ProfileSummary["stalls"];
  compile?: ProfileSummary["compile"] | undefined;
}

/** Formats a number for evidence: integers above 10, one decimal below. */
export function fmt(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1);
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${fmt(bytes / 1e6)} MB` : `${fmt(bytes / 1e3)} KB`;
}

/** Which resource caps occupancy: the smallest of ncu's per-resource block limits. */
export function occupancyLimiter(m: Record<string, number>): { resource: string; blocks: number } | null {
  const limits: [string, number | undefined][] = [
    ["registers", m["occLimitRegisters"]],
    ["shared memory", m["occLimitSharedMem"]],
    ["warps", m["occLimitWarps"]],
    ["blocks per SM", m["occLimitBlocks"]],
  ];
  const known = limits.filter((l): l is [string, number] => l[1] !== undefined);
  if (!known.length) return null;
  const [resource, blocks] = known.reduce((a, b) => (b[1] < a[1] ? b : a));
  return { resource, blocks };
}

/** Evidence lines, one per aspect that has numbers. */
function describe({ metrics: m, stalls, compile }: ClassifyInput): Record<string, string> {
  const out: Record<string, string> = {};
  const c = m["smThroughputPct"];
  const mem = m["memThroughputPct"];
  if (c !== undefined || mem !== undefined) {
    // Which level carries the memory load matters: DRAM streaming and L1/shared traffic need different fixes.
    const levels = [
      ["L1/shared", m["l1ThroughputPct"]],
      ["L2", m["l2ThroughputPct"]],
      ["DRAM", m["dramThroughputPct"]],
    ] as const;
    const known = levels.filter(([, v]) => v !== undefined).map(([n, v]) => `${n} ${fmt(v as number)}%`);
    const dram = known.length ? ` (${known.join(", ")})` : "";
    out["sol"] =
      `compute (SM) throughput ${c === undefined ? "?" : fmt(c)}% of peak, memory throughput ${mem === undefined ? "?" : fmt(mem)}%${dram}`;
  }
  const t = m["tensorPipePct"];
  if (t !== undefined) {
    const kind =
      (m["gmmaPipePct"] ?? 0) > 0 || (m["gmmaInst"] ?? 0) > 0
        ? "wgmma"
        : (m["hmmaPipePct"] ?? 0) > 0 || (m["hmmaInst"] ?? 0) > 0
          ? "mma.sync"
          : "tensor";
    const xu = m["xuPipePct"] !== undefined ? `; XU (exp/tanh) pipe ${fmt(m["xuPipePct"])}%` : "";
    out["tensor"] = `tensor pipe (${kind}) ${fmt(t)}% of peak${xu}`;
  }
  const ach = m["achievedOccupancyPct"];
  if (ach !== undefined) {
    const th = m["theoreticalOccupancyPct"];
    const lim = occupancyLimiter(m);
    out["occupancy"] =
      `achieved occupancy ${fmt(ach)}%` +
      (th !== undefined ? ` of a theoretical ${fmt(th)}%` : "") +
      (lim ? `, limited by ${lim.resource} (${lim.blocks} block${lim.blocks === 1 ? "" : "s"}/SM)` : "") +
      (m["registersPerThread"] !== undefined ? `; ${m["registersPerThread"]} registers/thread` : "");
  }
  const grid = m["gridSize"];
  if (grid !== undefined) {
    const waves = m["wavesPerSm"] !== undefined ? `, ${fmt(m["wavesPerSm"])} waves` : "";
    const sms = m["smCount"] !== undefined ? ` on ${m["smCount"]} SMs` : "";
    out["grid"] = `grid of ${grid} blocks of ${m["blockSize"] ?? "?"} threads${waves}${sms}`;
  }
  if (stalls.length)
    out["stalls"] = `top warp stalls: ${stalls
      .slice(0, 3)
      .map((s) => `${s.reason} ${fmt(s.pct)}%`)
      .join(", ")}`;
  const spill = m["localSpillBytes"] ?? 0;
  const cspill = compile?.spills ?? 0;
  if (spill > 0 || cspill > 0) {
    out["spills"] =
      `register spills: ${spill > 0 ? `${mb(spill)} of local-memory traffic` : ""}${spill > 0 && cspill > 0 ? ", " : ""}${cspill > 0 ? `${cspill} spilled registers at compile time` : ""}`;
  }
  if (m["l2HitPct"] !== undefined) out["l2"] = `L2 hit rate ${fmt(m["l2HitPct"])}%`;
  return out;
}

/** Classifies the bound of one launch and returns the evidence, the deciding line first. */
export function classifyBound(input: ClassifyInput): { bound: Bound; evidence: string[] } {
  const m = input.metrics;
  const d = describe(input);
  const c = m["smThroughputPct"] ?? 0;
  const mem = m["memThroughputPct"] ?? 0;
  const t = m["tensorPipePct"] ?? 0;
  const waves = m["wavesPerSm"];
  const lines = (...keys: string[]) => keys.map((k) => d[k]).filter((v): v is string => v !== undefined);

  let bound: Bound;
  let lead: string[];
  if (waves !== undefined && waves < MIN_WAVES && Math.max(c, mem) < HIGH_SOL_PCT) {
    bound = "underutilised";
    lead = [`the grid fills only ${fmt(100 * waves)}% of one wave: SMs sit idle`, ...lines("grid", "sol")];
  } else if (Math.max(c, mem, t) >= HIGH_SOL_PCT) {
    bound = mem > Math.max(c, t) ? "memory" : "compute";
    lead = bound === "memory" ? lines("sol", "l2") : lines("sol", "tensor");
  } else if (m["smThroughputPct"] === undefined && m["memThroughputPct"] === undefined) {
    bound = "latency";
    lead = ["speed-of-light metrics are missing from the profile: bound guessed as latency"];
  } else {
    bound = "latency";
    lead = [`neither compute (${fmt(c)}%) nor memory (${fmt(mem)}%) reaches ${HIGH_SOL_PCT}% of peak: warps wait`, ...lines("stalls", "occupancy")];
  }
  return { bound, evidence: [...new Set([...lead, ...Object.values(d)])] };
}
