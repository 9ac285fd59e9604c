/**
 * Progress of a running search: a live one-screen display on a terminal (redrawn from the trace
 * store), plain timestamped log lines otherwise, or nothing (--quiet, --json).
 */
import type { TraceStore } from "../../memory/trace-store.ts";
import type { PipelineStatus, Progress } from "../../graph/deps.ts";
import { formatDuration, type BudgetLimits } from "../../graph/budget.ts";
import { inertText } from "../../core/inert-text.ts";

/** live: redrawn frame on a terminal; lines: log lines; quiet: nothing. */
export type ProgressMode = "live" | "lines" | "quiet";

/** How often the live display redraws. */
export const REDRAW_MS = 250;
/** How often log-line mode reports the lanes (when they changed). */
export const LANES_LINE_MS = 30_000;
const RECENT = 6;

/** A progress sink for the graph plus `stop()` to clear timers and print the last frame. */
export interface ProgressReporter extends Progress {
  stop(): void;
}

/** Creates the reporter for `mode`, writing to `out` (stderr when stdout carries JSON). */
export function createProgress(
  mode: ProgressMode,
  p: {
    out: NodeJS.WritableStream & { rows?: number; columns?: number };
    store: TraceStore;
    runId: string;
    limits: BudgetLimits;
    elapsedMs: () => number;
  },
): ProgressReporter {
  const elapsed = p.elapsedMs;
  const stamp = () => `[${formatDuration(elapsed()).padStart(6)}]`;
  if (mode === "quiet") return { activity: () => {}, log: () => {}, stop: () => {} };
  // Activity and log lines quote idea titles and failure reasons a model wrote: one inert line each.
  const oneLine = (text: string) => inertText(text).replace(/\n/g, " ");
  let readPipeline: (() => PipelineStatus) | null = null;
  if (mode === "lines") {
    let last = "";
    const timer = setInterval(() => {
      const line = readPipeline ? describeLanes(readPipeline()) : "";
      if (line && line !== last) p.out.write(`${stamp()} ${line}\n`);
      last = line;
    }, LANES_LINE_MS);
    timer.unref();
    return {
      activity: (_key, text) => {
        if (text) p.out.write(`${stamp()} ${oneLine(text)}\n`);
      },
      log: (line) => p.out.write(`${stamp()} ${oneLine(line)}\n`),
      pipeline: (read) => (readPipeline = read),
      stop: () => clearInterval(timer),
    };
  }
  const running = new Map<string, string>();
  const recent: string[] = [];
  let drawn = 0;
  const draw = () => {
    const frame = renderFrame({
      store: p.store,
      runId: p.runId,
      limits: p.limits,
      elapsedMs: elapsed(),
      running: [...running.values()],
      recent,
      width: p.out.columns || 100,
      ...(readPipeline ? { pipeline: readPipeline() } : {}),
    });
    // A terminal that reports no size (rows 0, e.g. under `script`) gets a conventional 30 rows.
    const rows = Math.max(6, (p.out.rows || 30) - 1);
    const lines = frame.slice(0, rows);
    // Move up over the previous frame, then rewrite each line and clear what is left below.
    p.out.write(`${drawn ? `\x1b[${drawn}A` : ""}${lines.map((l) => `\r\x1b[2K${l}`).join("\n")}\n\x1b[J`);
    drawn = lines.length;
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    activity: (key, text) => {
      if (text) running.set(key, oneLine(text));
      else running.delete(key);
    },
    log: (line) => {
      recent.push(`${stamp()} ${oneLine(line)}`);
      if (recent.length > RECENT) recent.shift();
    },
    pipeline: (read) => (readPipeline = read),
    stop: () => {
      clearInterval(timer);
      running.clear();
      draw();
    },
  };
}

/** The lines of one live frame. */
export function renderFrame(f: {
  store: TraceStore;
  runId: string;
  limits: BudgetLimits;
  elapsedMs: number;
  running: string[];
  recent: string[];
  width: number;
  pipeline?: PipelineStatus;
}): string[] {
  const r = f.store.getRun(f.runId);
  if (!r) return [`run ${f.runId}: not found`];
  const l = f.limits;
  const tokens = r.promptTokens + r.completionTokens;
  const best = r.bestSpeedup === null ? "none yet" : `${r.bestSpeedup.toFixed(3)}x (node ${f.store.getNode(r.bestNode!)?.label ?? "?"})`;
  const cut = (s: string) => (s.length > f.width - 1 ? `${s.slice(0, f.width - 2)}…` : s);
  return [
    `kforge search ${r.problem} · run ${r.id}`,
    `elapsed ${formatDuration(f.elapsedMs)} / ${formatDuration(l.wallMs)}   nodes ${r.nodes}${l.maxNodes !== undefined ? `/${l.maxNodes}` : ""} (correct ${r.correct})   best ${best}${l.targetSpeedup !== undefined ? ` → target ${l.targetSpeedup}x` : ""}`,
    `tokens ${fmtCount(tokens)}${l.maxTokens !== undefined ? `/${fmtCount(l.maxTokens)}` : ""}   cost $${r.costUsd.toFixed(2)}${l.maxCostUsd !== undefined ? `/$${l.maxCostUsd}` : ""}   model calls ${r.llmCalls}`,
    ...(f.pipeline ? [describeLanes(f.pipeline)] : []),
    "running now:",
    ...(f.running.length ? f.running.slice(0, 8).map((s) => cut(`  ${s}`)) : ["  (between steps)"]),
    "recent:",
    ...(f.recent.length ? f.recent.map((s) => cut(`  ${s}`)) : ["  -"]),
    "Ctrl-C stops cleanly (resume later with `kforge resume`)",
  ];
}

/** `lanes 3 busy / 1 idle (75% so far)   jobs queued 2   expansions 5 in flight (target 6)` */
export function describeLanes(p: PipelineStatus): string {
  const l = p.lanes;
  return `lanes ${l.busy} busy / ${l.lanes - l.busy} idle (${Math.round(l.utilisation * 100)}% so far)   jobs queued ${l.queued}   expansions ${p.expansions} in flight (target ${p.target})`;
}

/** 1234 → "1.2k", 3456789 → "3.5M". */
export function fmtCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}
