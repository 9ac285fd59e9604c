/**
 * The deterministic advisor: rules from a ProfileSummary to concrete changes of a Triton attention
 * kernel, with the numbers that triggered them. Used offline (no model) and as the fallback when
 * the profiler agent's reply is unusable. Thresholds are named; each rule is one function.
 */
import { fmt, occupancyLimiter } from "./classify.ts";
import type { ProfileSummary } from "./types.ts";

/** How much fixing a bottleneck is expected to help. */
export type Gain = "high" | "medium" | "low";

/** One bottleneck with its evidence, the change to make, and how much it is likely to help. */
export interface Advice {
  issue: string;
  evidence: string;
  suggestion: string;
  expectedGain: Gain;
  /** The rule that fired (for the trace and tests). */
  rule: string;
}

/** At most this many bottlenecks are reported (the model sees the most valuable ones). */
export const MAX_ADVICE = 5;
/** The per-thread register file limit on sm_80/sm_90. */
export const MAX_REGISTERS = 255;
/** At or below this many resident warps per SM, latency hiding depends entirely on in-block pipelining. */
export const FEW_WARPS_PER_SM = 4;
/** Tensor pipe below this share of peak counts as idle for an attention kernel. */
export const LOW_TENSOR_PCT = 50;
/** XU (MUFU: exp2, tanh, rcp) pipe at or above this share of peak is a bottleneck of its own. */
export const HIGH_XU_PCT = 40;
/** A memory level (DRAM, L1/shared) at or above this share of peak is the bound. */
export const HIGH_MEMORY_PCT = 60;
/** A stall reason with at least this share of stalled cycles is worth a rule. */
export const MAJOR_STALL_PCT = 15;

type Rule = (s: ProfileSummary, m: Record<string, number>) => Omit<Advice, "rule"> | null;

const stallPct = (s: ProfileSummary, reason: string) => s.stalls.find((x) => x.reason === reason)?.pct ?? 0;
const cfg = (s: ProfileSummary) => {
  const c = s.compile;
  return c
    ? `num_warps=${c.numWarps ?? "?"}, num_stages=${c.numStages ?? "?"}, ${c.registers ?? "?"} registers, ${c.sharedBytes !== null && c.sharedBytes !== undefined ? `${Math.round(c.sharedBytes / 1024)} KiB` : "?"} shared`
    : "";
};

const RULES: Record<string, Rule> = {
  spills(s, m) {
    const bytes = m["localSpillBytes"] ?? 0;
    const spilled = s.compile?.spills ?? 0;
    if (bytes <= 0 && spilled <= 0) return null;
    const regs = m["registersPerThread"] ?? s.compile?.registers ?? undefined;
    return {
      issue: "registers spill to local memory",
      evidence: `${regs ?? "?"} registers/thread${regs !== undefined && regs >= MAX_REGISTERS ? " (the maximum)" : ""}, ${spilled} spilled at compile time, ${fmt(bytes / 1e6)} MB of local-memory traffic (${cfg(s)})`,
      suggestion:
        "shrink the live tiles per thread: the fp32 accumulator [BLOCK_M, D] and the score tile [BLOCK_M, BLOCK_N] must fit in registers. " +
        `Use num_warps=8 (twice the threads share the tiles)${(s.compile?.numWarps ?? 8) < 8 ? ` instead of ${s.compile?.numWarps}` : ""}, or halve BLOCK_N, or lower num_stages; avoid keeping extra fp32 copies of the scores.`,
      expectedGain: "high",
    };
  },
  notWgmma(s, m) {
    if (!((m["hmmaInst"] ?? 0) > 0 && m["gmmaInst"] === 0)) return null;
    return {
      issue: "tensor cores run mma.sync (the Ampere path), not Hopper's wgmma",
      evidence: `${fmt((m["hmmaInst"] ?? 0) / 1e6)}M mma instructions, 0 wgmma; ${m["blockSize"] ?? "?"} threads per block (${cfg(s)})`,
      suggestion:
        "Triton emits wgmma on sm_90 only for warp-group tiles: use num_warps=4 or 8 and BLOCK_M >= 64 (128 for D=128), with tl.dot on bf16 operands.",
      expectedGain: "high",
    };
  },
  smallGrid(_s, m) {
    const waves = m["wavesPerSm"];
    if (waves === undefined || waves >= 1) return null;
    return {
      issue: "the grid is too small to fill the GPU",
      evidence: `${m["gridSize"] ?? "?"} blocks, ${fmt(waves)} waves on ${m["smCount"] ?? "?"} SMs`,
      suggestion:
        "launch more programs: a smaller BLOCK_M, or split the KV sequence across programs (flash-decoding: each program reduces part of the keys, a second pass combines max/sum/out).",
      expectedGain: "high",
    };
  },
  xuBound(s, m) {
    const xu = m["xuPipePct"] ?? 0;
    const tensor = m["tensorPipePct"] ?? 0;
    if (xu < HIGH_XU_PCT || xu < tensor) return null;
    const d = s.shape.D;
    return {
      issue: "transcendental (MUFU/XU) throughput rivals the tensor pipe",
      evidence: `XU pipe ${fmt(xu)}% vs tensor pipe ${fmt(tensor)}% of peak${d ? ` at head dim ${d}` : ""}`,
      suggestion:
        "cut MUFU ops per score: fold scale*log2(e) into one multiply and use tl.exp2 (one MUFU op per score, no separate scaling); if the kernel applies a softcap, compute tanh with ONE instruction " +
        '(tl.inline_asm_elementwise("tanh.approx.f32 $0, $1;", "=f,f", [x], dtype=tl.float32, is_pure=True, pack=1)) instead of exp + division, and multiply by 1/cap rather than divide' +
        (d !== undefined && d <= 64
          ? `. At D=${d} each score carries half the matrix work of D=128, so even one exp2 per score keeps the XU pipe as busy as the tensor pipe: ` +
            "keep exactly one MUFU op per score (exp2 with the scale folded in; for a softcap, one tanh.approx and the running max taken on tanh) and no other " +
            "transcendental in the loop (no division: multiply by a reciprocal computed once). Moving exponentials to the FMA pipe with a polynomial " +
            "(FlashAttention-4's trick) was measured slower on the H100 (bench/offline/NOTES.md): the replacement instructions cost as much issue bandwidth as they save."
          : "."),
      expectedGain: "high",
    };
  },
  serialSoftmax(s, m) {
    const wait = stallPct(s, "wait");
    const barrier = stallPct(s, "barrier");
    const t = m["tensorPipePct"];
    if (s.bound !== "latency" || t === undefined || t >= 60 || wait + barrier < 2 * MAJOR_STALL_PCT) return null;
    const warps = m["achievedOccupancyPct"] !== undefined ? (m["achievedOccupancyPct"] / 100) * 64 : undefined;
    return {
      issue: "matrix products and softmax run one after the other: warps wait on their own wgmma and on block-wide barriers",
      evidence: `stalls wait ${fmt(wait)}%, barrier ${fmt(barrier)}%; tensor pipe ${fmt(t)}% of peak${warps !== undefined ? ` with ~${fmt(warps)} warps resident per SM` : ""} (${cfg(s)})`,
      suggestion:
        "overlap the softmax of one K/V block with the matrix products of another: " +
        ((s.compile?.numWarps ?? 0) >= 8
          ? "the kernel already has two warpgroups (num_warps=8) but they run in lockstep, so the overlap must come from the loop: "
          : "with BLOCK_M=128 and num_warps=8 two warpgroups of 64 rows can take turns on the tensor cores; ") +
        "issue the next block's Q·K^T before this block's exponentials (software pipelining: compute S_{j+1} = Q·K_{j+1}^T, then the softmax of S_j, then P_j·V_j); " +
        `keep num_stages at 3 so the next K/V tile is already in shared memory${(s.compile?.numStages ?? 0) > 3 ? ` (${s.compile?.numStages} stages cost shared memory without hiding more)` : ""}; ` +
        "a larger BLOCK_N (128) halves the barriers per key, provided the score tile still fits without spills.",
      expectedGain: "medium",
    };
  },
  fewWarps(s, m) {
    const ach = m["achievedOccupancyPct"];
    const lim = occupancyLimiter(m);
    if (ach === undefined || !lim || (lim.resource !== "shared memory" && lim.resource !== "registers")) return null;
    const warps = (ach / 100) * 64;
    if (warps > FEW_WARPS_PER_SM) return null;
    return {
      issue: `only ~${fmt(warps)} warps resident per SM (occupancy capped by ${lim.resource})`,
      evidence: `achieved occupancy ${fmt(ach)}%, ${lim.blocks} block/SM by ${lim.resource} (${cfg(s)})`,
      suggestion:
        lim.resource === "shared memory"
          ? "free shared memory so a second block fits, or give the block more warps: num_stages 3 -> 2, BLOCK_N 128 -> 64, or num_warps=8."
          : "use fewer registers per thread (smaller BLOCK_N, fewer live fp32 tiles) or more warps per block (num_warps=8).",
      expectedGain: "medium",
    };
  },
  memoryLatency(s, m) {
    const t = m["tensorPipePct"];
    const waits = ["long_scoreboard", "mio_throttle", "short_scoreboard", "barrier"]
      .map((r) => [r, stallPct(s, r)] as const)
      .filter(([, p]) => p >= MAJOR_STALL_PCT);
    if (t === undefined || t >= LOW_TENSOR_PCT || !waits.length) return null;
    const stages = s.compile?.numStages;
    return {
      issue: "the tensor pipe idles while warps wait on shared/global memory",
      evidence: `tensor pipe ${fmt(t)}% of peak; stalls ${waits.map(([r, p]) => `${r} ${fmt(p)}%`).join(", ")}`,
      suggestion:
        `overlap loads with math: ${stages !== null && stages !== undefined && stages < 3 ? `num_stages ${stages} -> 3 or 4` : "keep num_stages at 3-4"} so K/V tiles for the next iteration load during the current tl.dot; ` +
        "load Q once before the loop; larger BLOCK_N (64 -> 128 with num_warps=8) halves the per-tile synchronisation; barrier stalls come from the block-wide sync of each shared-memory stage.",
      expectedGain: "medium",
    };
  },
  dramBound(_s, m) {
    const dram = m["dramThroughputPct"] ?? 0;
    if (dram < HIGH_MEMORY_PCT) return null;
    return {
      issue: "DRAM bandwidth bound",
      evidence: `DRAM throughput ${fmt(dram)}% of peak, L2 hit rate ${m["l2HitPct"] === undefined ? "?" : fmt(m["l2HitPct"])}%`,
      suggestion:
        "reuse K/V across more queries: larger BLOCK_M; for GQA handle all query heads of one KV head in one program; order programs so those reading the same K/V run together (better L2 hits).",
      expectedGain: "high",
    };
  },
  l1Bound(_s, m) {
    const l1 = m["l1ThroughputPct"] ?? 0;
    if (l1 < HIGH_MEMORY_PCT || (m["dramThroughputPct"] ?? 0) >= HIGH_MEMORY_PCT) return null;
    return {
      issue: "L1/shared-memory traffic is the busiest unit",
      evidence: `L1/shared throughput ${fmt(l1)}% of peak vs DRAM ${fmt(m["dramThroughputPct"] ?? 0)}%; ${m["sharedBankConflicts"] !== undefined ? `${fmt(m["sharedBankConflicts"] / 1e6)}M shared bank conflicts` : ""}`,
      suggestion:
        "small tiles re-read K/V from shared memory for few rows each: use BLOCK_M 128 / BLOCK_N 64-128 with num_warps 4-8 so each loaded tile feeds more math.",
      expectedGain: "medium",
    };
  },
  nearPeak(_s, m) {
    if ((m["tensorPipePct"] ?? 0) < 60) return null;
    return {
      issue: "the tensor pipe is near its peak",
      evidence: `tensor pipe ${fmt(m["tensorPipePct"] ?? 0)}% of peak`,
      suggestion:
        "remaining gains are algorithmic: skip fully masked KV blocks (causal, windows, documents) and avoid masking arithmetic in blocks that need none.",
      expectedGain: "low",
    };
  },
};

const ORDER: Record<Gain, number> = { high: 0, medium: 1, low: 2 };

/** Concrete bottlenecks of a profiled kernel by rule, most valuable first (at most MAX_ADVICE). */
export function adviseFromProfile(summary: ProfileSummary): Advice[] {
  const out: Advice[] = [];
  for (const [rule, fn] of Object.entries(RULES)) {
    const a = fn(summary, summary.metrics);
    if (a) out.push({ ...a, rule });
  }
  return out.sort((a, b) => ORDER[a.expectedGain] - ORDER[b.expectedGain]).slice(0, MAX_ADVICE);
}

/** The advice in the profiler agent's output shape ({summary, bottlenecks}). */
export function adviceAsBottlenecks(summary: ProfileSummary): { summary: string; bottlenecks: Advice[] } {
  return {
    summary: `${summary.bound}-bound: ${summary.evidence[0] ?? "no evidence"}`,
    bottlenecks: adviseFromProfile(summary),
  };
}
