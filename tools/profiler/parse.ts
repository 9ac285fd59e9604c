/**
 * Nsight Compute CSV → typed values. Reads both layouts ncu prints with `--csv`:
 * the raw page (one row per kernel, a units row under the header) and the details page (one row per
 * metric: "Metric Name","Metric Unit","Metric Value"). Robust to ==PROF== noise, quoting, thousands
 * separators, "n/a" and auto-scaled units (usecond, Kbyte/block, ...).
 */
import { ToolError } from "../../core/errors.ts";
import { classifyBound } from "./classify.ts";
import { METRIC_ALIASES, NOT_A_STALL, STALL_RATIO, STALL_SAMPLES } from "./metric-list.ts";
import { ProfileSummary } from "./types.ts";

/** One profiled kernel launch: ncu's metric names → values in normalised units (ns, bytes, %). */
export interface KernelMetrics {
  id: string;
  name: string;
  metrics: Record<string, number>;
}

/** Triton's compile metadata of one kernel, as profile_driver.py reports it. */
export interface CompileRecord {
  name: string;
  registers: number | null;
  spills: number | null;
  sharedBytes: number | null;
  numWarps: number | null;
  numStages: number | null;
}

/** Splits CSV text into rows of fields (RFC 4180 quoting, "" escapes, CRLF). */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const SI: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const TIME_NS: Record<string, number> = { nsecond: 1, ns: 1, usecond: 1e3, us: 1e3, msecond: 1e6, ms: 1e6, second: 1e9, s: 1e9 };

/** A cell as a number in normalised units (time → ns, K/M/G-scaled counts and bytes → base), or null. */
export function normaliseValue(raw: string, unit: string): number | null {
  let s = raw.trim();
  if (s === "" || /^(n\/a|na|nan|-|--)$/i.test(s)) return null;
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) s = s.replace(/,/g, "");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null;
  const v = Number(s);
  const u = unit.trim();
  const time = TIME_NS[u];
  if (time !== undefined) return v * time;
  const m = /^([KMGT])(byte|hz|inst|cycle|sector|request|warp|thread|block|wavefront)(\/.*)?$/.exec(u);
  if (m) return v * (SI[m[1] as string] as number);
  const bin = /^([KMG])iB(\/.*)?$/.exec(u);
  if (bin) return v * 1024 ** ("KMG".indexOf(bin[1] as string) + 1);
  return v;
}

/** Parses ncu `--csv` output (raw or details page) into one record per profiled kernel launch. */
export function parseNcuCsv(text: string): KernelMetrics[] {
  const rows = parseCsvRows(text).filter((r) => r.length > 1);
  const h = rows.findIndex((r) => r.includes("Kernel Name") && r.includes("ID"));
  if (h < 0)
    throw new ToolError('ncu CSV has no header row (no "ID" / "Kernel Name" columns)', { context: { tool: "profiler", log: text.slice(0, 400) } });
  const header = rows[h] as string[];
  const col = (name: string) => header.indexOf(name);
  const iId = col("ID");
  const iName = col("Kernel Name");
  const body = rows.slice(h + 1).filter((r) => r.length === header.length);
  const byId = new Map<string, KernelMetrics>();
  const kernel = (r: string[]) => {
    const id = r[iId] as string;
    let k = byId.get(id);
    if (!k) {
      k = { id, name: r[iName] as string, metrics: {} };
      byId.set(id, k);
    }
    return k;
  };
  const iMetric = col("Metric Name");
  const iValue = col("Metric Value");
  if (iMetric >= 0 && iValue >= 0) {
    const iUnit = col("Metric Unit");
    for (const r of body) {
      if (!/^\d+$/.test((r[iId] as string).trim())) continue;
      const v = normaliseValue(r[iValue] as string, iUnit >= 0 ? (r[iUnit] as string) : "");
      const name = r[iMetric] as string;
      // A details-page label can repeat in another unit (e.g. Memory Throughput in % and in Gbyte/s): keep the first.
      if (v !== null && !(name in kernel(r).metrics)) kernel(r).metrics[name] = v;
    }
  } else {
    const hasUnits = body.length > 0 && (body[0] as string[])[iId]?.trim() === "";
    const units = hasUnits ? (body[0] as string[]) : header.map(() => "");
    for (const r of body.slice(hasUnits ? 1 : 0)) {
      if (!/^\d+$/.test((r[iId] as string).trim())) continue;
      const k = kernel(r);
      header.forEach((name, i) => {
        if (!name.includes("__")) return; // identity columns (Process ID, Block Size, ...)
        const v = normaliseValue(r[i] as string, units[i] as string);
        if (v !== null) k.metrics[name] = v;
      });
    }
  }
  return [...byId.values()];
}

/** The short-keyed metrics of ProfileSummary, plus derived ones (tensorPipePct, localSpillBytes, ...). */
export function keyMetrics(raw: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, names] of Object.entries(METRIC_ALIASES)) {
    const hit = names.find((n) => raw[n] !== undefined);
    if (hit !== undefined) out[key] = raw[hit] as number;
  }
  const tensor = ["gmmaPipePct", "hmmaPipePct", "tensorCyclesPct"].filter((k) => out[k] !== undefined).map((k) => out[k] as number);
  if (tensor.length) out["tensorPipePct"] = Math.max(...tensor);
  if (out["localLoadBytes"] !== undefined || out["localStoreBytes"] !== undefined) {
    out["localSpillBytes"] = (out["localLoadBytes"] ?? 0) + (out["localStoreBytes"] ?? 0);
  }
  if (out["theoreticalOccupancyPct"] === undefined) {
    // limit_warps = floor(max warps per SM / warps per block), so min(limits) / limit_warps approximates it.
    const limits = ["occLimitRegisters", "occLimitSharedMem", "occLimitWarps", "occLimitBlocks"]
      .map((k) => out[k])
      .filter((v): v is number => v !== undefined);
    const w = out["occLimitWarps"];
    if (limits.length && w) out["theoreticalOccupancyPct"] = (100 * Math.min(...limits)) / w;
  }
  for (const [name, v] of Object.entries(raw)) {
    const m = STALL_RATIO.exec(name);
    if (m) out[`stall.${m[1]}`] = v;
  }
  return out;
}

/** Stall reasons as shares (percent) of all stalled warp-cycles per issue, largest first. */
export function stallShares(raw: Record<string, number>): { reason: string; pct: number }[] {
  const pick = (re: RegExp) =>
    Object.entries(raw).flatMap(([n, v]) => {
      const m = re.exec(n);
      return m && !NOT_A_STALL.has(m[1] as string) && v > 0 ? [{ reason: m[1] as string, v }] : [];
    });
  let found = pick(STALL_RATIO);
  if (!found.length) found = pick(STALL_SAMPLES);
  const total = found.reduce((a, s) => a + s.v, 0);
  if (total <= 0) return [];
  return found.map((s) => ({ reason: s.reason, pct: Math.round((1000 * s.v) / total) / 10 })).sort((a, b) => b.pct - a.pct);
}

/** Picks the launch that matters (the longest one) from what ncu profiled inside the range. */
export function mainKernel(kernels: KernelMetrics[]): KernelMetrics {
  if (!kernels.length) throw new ToolError("ncu profiled no kernel launch");
  const dur = (k: KernelMetrics) => k.metrics["gpu__time_duration.sum"] ?? k.metrics["Duration"] ?? -1;
  return kernels.reduce((best, k) => (dur(k) > dur(best) ? k : best));
}

/** Builds the typed, classified ProfileSummary of one launch from ncu's CSV and Triton's compile records. */
export function summariseProfile(csv: string, ctx: { shape: ProfileSummary["shape"]; compile?: CompileRecord[] }): ProfileSummary {
  const kernels = parseNcuCsv(csv);
  const main = mainKernel(kernels);
  const metrics = keyMetrics(main.metrics);
  const stalls = stallShares(main.metrics);
  const rec = (ctx.compile ?? []).filter((c) => c.name === main.name).sort((a, b) => (b.registers ?? 0) - (a.registers ?? 0))[0];
  const compile = rec && {
    registers: rec.registers,
    spills: rec.spills,
    sharedBytes: rec.sharedBytes,
    numWarps: rec.numWarps,
    numStages: rec.numStages,
  };
  const { bound, evidence } = classifyBound({ metrics, stalls, compile });
  const others = kernels.filter((k) => k !== main).map((k) => ({ name: k.name, durationUs: dur(k) }));
  return ProfileSummary.parse({
    kernel: main.name,
    shape: ctx.shape,
    durationUs: metrics["durationNs"] !== undefined ? metrics["durationNs"] / 1000 : null,
    metrics,
    stalls,
    ...(compile ? { compile } : {}),
    bound,
    evidence,
    ...(others.length ? { otherKernels: others } : {}),
  });
}

function dur(k: KernelMetrics): number | null {
  const ns = k.metrics["gpu__time_duration.sum"] ?? k.metrics["Duration"];
  return ns === undefined ? null : ns / 1000;
}
