/**
 * Which Nsight Compute metrics kforge asks for, and the names it files them under. The list lives in
 * `metrics.txt` (shared with bench/profiler/record_ncu.sh); this module selects from it for a device
 * and maps ncu's names (raw page) and section labels (details page) onto short, stable keys.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../core/config.ts";

/** One line of metrics.txt: "?" marks a name that varies by architecture / ncu version. */
export interface MetricEntry {
  name: string;
  optional: boolean;
}

/** The metric list in metrics.txt. */
export function readMetricList(path = join(repoRoot(), "tools", "profiler", "metrics.txt")): MetricEntry[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => ({ name: l.replace(/^\?/, ""), optional: l.startsWith("?") }));
}

/** Base metric names (before the first ".") listed by `ncu --query-metrics`. */
export function parseQueryMetrics(text: string): Set<string> {
  return new Set([...text.matchAll(/^\s*([a-z0-9]+__[A-Za-z0-9_]+)/gm)].map((m) => m[1] as string));
}

/** Required metrics always; optional ones only when the device lists their base name. */
export function selectMetrics(list: MetricEntry[], listed: Set<string>): string[] {
  return list.filter((m) => !m.optional || listed.has(m.name.split(".")[0] as string)).map((m) => m.name);
}

/**
 * Short keys of ProfileSummary.metrics → the ncu names (raw metric names, or details-page labels)
 * that carry them, first present wins. Units are normalised by the parser: ns, bytes, percent.
 */
export const METRIC_ALIASES: Record<string, string[]> = {
  durationNs: ["gpu__time_duration.sum", "Duration"],
  smThroughputPct: ["sm__throughput.avg.pct_of_peak_sustained_elapsed", "Compute (SM) Throughput"],
  memThroughputPct: ["gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed", "Memory Throughput"],
  dramThroughputPct: ["dram__throughput.avg.pct_of_peak_sustained_elapsed", "DRAM Throughput"],
  dramReadBytes: ["dram__bytes_read.sum"],
  dramWriteBytes: ["dram__bytes_write.sum"],
  l2ThroughputPct: ["lts__throughput.avg.pct_of_peak_sustained_elapsed", "L2 Cache Throughput"],
  l1ThroughputPct: ["l1tex__throughput.avg.pct_of_peak_sustained_active", "L1/TEX Cache Throughput"],
  issueActivePct: ["smsp__issue_active.avg.pct_of_peak_sustained_active", "Issue Slots Busy"],
  gmmaPipePct: ["sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active"],
  hmmaPipePct: ["sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active"],
  tensorCyclesPct: ["sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active"],
  gmmaInst: ["sm__inst_executed_pipe_tensor_op_gmma.sum"],
  hmmaInst: ["sm__inst_executed_pipe_tensor_op_hmma.sum"],
  fmaPipePct: ["sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active"],
  aluPipePct: ["sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active"],
  xuPipePct: ["sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active"],
  achievedOccupancyPct: ["sm__warps_active.avg.pct_of_peak_sustained_active", "Achieved Occupancy"],
  theoreticalOccupancyPct: ["sm__maximum_warps_per_active_cycle_pct", "Theoretical Occupancy"],
  occLimitRegisters: ["launch__occupancy_limit_registers", "Block Limit Registers"],
  occLimitSharedMem: ["launch__occupancy_limit_shared_mem", "Block Limit Shared Mem"],
  occLimitWarps: ["launch__occupancy_limit_warps", "Block Limit Warps"],
  occLimitBlocks: ["launch__occupancy_limit_blocks", "Block Limit SM"],
  registersPerThread: ["launch__registers_per_thread", "Registers Per Thread"],
  sharedStaticBytes: ["launch__shared_mem_per_block_static", "Static Shared Memory Per Block"],
  sharedDynamicBytes: ["launch__shared_mem_per_block_dynamic", "Dynamic Shared Memory Per Block"],
  sharedDriverBytes: ["launch__shared_mem_per_block_driver", "Driver Shared Memory Per Block"],
  blockSize: ["launch__block_size", "Block Size"],
  gridSize: ["launch__grid_size", "Grid Size"],
  wavesPerSm: ["launch__waves_per_multiprocessor", "Waves Per SM"],
  smCount: ["launch__sm_count", "# SMs"],
  localLoadBytes: ["l1tex__t_bytes_pipe_lsu_mem_local_op_ld.sum"],
  localStoreBytes: ["l1tex__t_bytes_pipe_lsu_mem_local_op_st.sum"],
  l2HitPct: ["lts__t_sector_hit_rate.pct", "L2 Hit Rate"],
  l1HitPct: ["l1tex__t_sector_hit_rate.pct", "L1/TEX Hit Rate"],
  sharedBankConflicts: ["l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum"],
  warpCyclesPerInst: ["smsp__average_warp_latency_per_inst_issued.ratio", "Warp Cycles Per Issued Instruction"],
};

/** Stall metrics: `smsp__average_warps_issue_stalled_<reason>_per_issue_active.ratio` (and pcsamp counts). */
export const STALL_RATIO = /^smsp__average_warps_issue_stalled_([a-z_]+?)_per_issue_active\.ratio$/;
/** PC-sampling stall counters (sections such as WarpStateStats): a fallback for the shares. */
export const STALL_SAMPLES = /^smsp__pcsamp_warps_issue_stalled_([a-z_]+)$/;

/** "Selected" is a warp issuing, not a stall; it is left out of the stall shares. */
export const NOT_A_STALL = new Set(["selected"]);
