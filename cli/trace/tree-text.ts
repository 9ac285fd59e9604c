/** The search tree drawn for a terminal (`kforge trace RUN`), with the --correct/--best/--depth filters. */
import type { NodeRow, NodeStatus, RunRow } from "../../ui/trace-view.ts";
import type { RunSeed } from "../../memory/trace-types.ts";
import { formatElapsed, paint, truncate, type Paint } from "./text-style.ts";
import { inertValue } from "../../core/inert-text.ts";

/** Which nodes to show; the filters combine (a node must pass all of them). */
export interface TreeFilter {
  /** Only correct nodes (and the ancestors that connect them, dimmed). */
  correct?: boolean;
  /** Only the N fastest correct nodes (and their ancestors). */
  best?: number;
  /** Only nodes at depth <= N (the root is depth 0). */
  depth?: number;
}

const IDEA_WIDTH = 38;
const MAX_HEAD_WIDTH = 40;

const STATUS_PAINT: Record<NodeStatus, Paint> = {
  ok: "green",
  wrong_output: "magenta",
  compile_error: "yellow",
  runtime_error: "red",
  timeout: "cyan",
  rejected: "red",
  no_kernel: "dim",
  failed: "red",
  coding: "blue",
  coded: "blue",
  root: "bold",
};

/** The ids to draw: those passing the filter, plus the ancestors needed to connect them (as context). */
export function selectNodes(nodes: NodeRow[], filter: TreeFilter): { shown: Set<string>; context: Set<string> } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let matches = nodes.filter((n) => filter.depth === undefined || n.depth <= filter.depth);
  if (filter.correct || filter.best !== undefined) matches = matches.filter((n) => n.status === "ok");
  if (filter.best !== undefined) {
    matches = [...matches].sort((a, b) => (b.speedup ?? -1) - (a.speedup ?? -1)).slice(0, Math.max(0, filter.best));
  }
  const shown = new Set(matches.map((n) => n.id));
  const context = new Set<string>();
  for (const n of matches) {
    for (
      let p = n.parentId ? byId.get(n.parentId) : undefined;
      p && !shown.has(p.id) && !context.has(p.id);
      p = p.parentId ? byId.get(p.parentId) : undefined
    ) {
      context.add(p.id);
    }
  }
  return { shown, context };
}

/** The fastest correct node, or null. */
export function bestNode(nodes: NodeRow[]): NodeRow | null {
  let best: NodeRow | null = null;
  for (const n of nodes) if (n.status === "ok" && n.speedup !== null && (!best || n.speedup > (best.speedup ?? -1))) best = n;
  return best;
}

/** A one-line outcome: speedup and TFLOP/s for correct nodes, the reason for the others. */
export function outcomeText(n: Pick<NodeRow, "status" | "speedup" | "tflops" | "summary">): string {
  if (n.status === "ok")
    return n.speedup === null ? "ok (untimed)" : `ok ${n.speedup.toFixed(2)}x${n.tflops !== null ? ` ${n.tflops.toFixed(0)} TFLOP/s` : ""}`;
  if (n.status === "root") return "root";
  if (!n.summary) return n.status;
  // The verifier's summaries already start with the status in words ("compile error: ...").
  const words = n.status.replace("_", " ");
  return n.summary.toLowerCase().startsWith(words) ? n.summary : `${words}: ${n.summary}`;
}

/** How many characters of a failed or stopped run's reason a terminal line shows (the whole of it is in --json). */
export const REASON_CHARS = 120;

/** Why a run ended early, beyond its status: a failed run's error, a stopped run's error (its stop reason is in its status); null otherwise. */
export function runReason(run: Pick<RunRow, "stopReason" | "error"> & { status: string }): string | null {
  if (run.status === "failed") return run.error ?? (run.stopReason && run.stopReason !== "error" ? run.stopReason : "no reason was recorded");
  if (run.status === "stopped") return run.error;
  return null;
}

/** The reason on one inert line of at most `max` characters, saying where the rest is when it is cut. */
export function shortReason(reason: string, max = REASON_CHARS): string {
  const line = truncate(reason, max);
  return line.endsWith("…") ? `${line} (all of it: --json)` : line;
}

/** The header line of a run, and under it why a failed or stopped run ended. */
export function runHeader(run: RunRow, color: boolean, width = 120): string {
  const best = run.bestSpeedup !== null ? `best ${run.bestSpeedup.toFixed(2)}x` : "no correct kernel yet";
  // A stopped run says why (the endpoint was down): it is waiting for a resume.
  const status = run.status === "stopped" && run.stopReason ? `stopped (${run.stopReason})` : run.status;
  const head = `${paint(color, "bold", `run ${run.id}`)}  ${run.problem}  ${status}  ${run.nodes} nodes, ${run.correct} correct  ${best}  $${run.costUsd.toFixed(2)}`;
  const reason = runReason(run);
  if (reason === null) return head;
  return `${head}\n${paint(color, run.status === "failed" ? "red" : "yellow", `  reason: ${shortReason(reason, Math.max(40, Math.min(REASON_CHARS, width - 32)))}`)}`;
}

/** Draws the tree with box-drawing characters, one node per line: label, idea, outcome, time since start. */
export function renderTree(
  given: RunRow,
  recorded: NodeRow[],
  filter: TreeFilter,
  opts: { color: boolean; width?: number; seeds?: RunSeed[] },
): string {
  // Titles, summaries and notes come from models and kernels: inert before they reach a terminal.
  const [run, nodes, allSeeds] = [inertValue(given), inertValue(recorded), inertValue(opts.seeds ?? [])];
  const { shown, context } = selectNodes(nodes, filter);
  const ids = new Set(nodes.map((n) => n.id));
  const children = new Map<string | null, NodeRow[]>();
  for (const n of nodes) {
    if (!shown.has(n.id) && !context.has(n.id)) continue;
    const key = n.parentId !== null && ids.has(n.parentId) ? n.parentId : null;
    (children.get(key) ?? children.set(key, []).get(key)!).push(n);
  }
  const best = bestNode(nodes);
  const rows: { head: string; node: NodeRow }[] = [];
  const walk = (parent: string | null, prefix: string) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((n, i) => {
      const last = i === kids.length - 1;
      const branch = parent === null ? "" : last ? "└─ " : "├─ ";
      rows.push({ head: `${prefix}${branch}${n.label}${best?.id === n.id ? " ★" : ""}`, node: n });
      walk(n.id, parent === null ? prefix : prefix + (last ? "   " : "│  "));
    });
  };
  walk(null, "");
  const headWidth = Math.min(MAX_HEAD_WIDTH, Math.max(0, ...rows.map((r) => r.head.length)));
  const room = Math.max(16, (opts.width ?? 120) - headWidth - IDEA_WIDTH - 14);
  const lines = [runHeader(run, opts.color, opts.width)];
  for (const { head, node: n } of rows) {
    const h = head.padEnd(headWidth);
    const idea = truncate(n.title, IDEA_WIDTH).padEnd(IDEA_WIDTH);
    const outcome = truncate(outcomeText(n), room).padEnd(room);
    const time = formatElapsed(n.createdAt - run.startedAt).padStart(8);
    if (context.has(n.id)) lines.push(paint(opts.color, "dim", `${h}  ${idea}  ${outcome}${time}`));
    else
      lines.push(
        `${paint(opts.color, best?.id === n.id ? "bold" : "plain", h)}  ${idea}  ${paint(opts.color, STATUS_PAINT[n.status] ?? "plain", outcome)}${paint(opts.color, "dim", time)}`,
      );
  }
  if (lines.length === 1) lines.push("(no node matches the filter)");
  const seeds = allSeeds.filter((s) => shown.has(s.nodeId));
  if (seeds.length) lines.push("", ...seedLines(seeds, nodes, opts.color));
  return lines.join("\n");
}

/** "seeded from memory": each win of the memory that seeded nodes of the run, how, and which nodes. */
export function seedLines(seeds: readonly RunSeed[], nodes: readonly NodeRow[], color: boolean): string[] {
  const label = new Map(nodes.map((n) => [n.id, n.label]));
  const byWin = new Map<string, RunSeed[]>();
  for (const s of seeds) (byWin.get(s.winId) ?? byWin.set(s.winId, []).get(s.winId)!).push(s);
  const out = [paint(color, "bold", "seeded from memory") + paint(color, "dim", " (kforge memory show ID)")];
  for (const [win, list] of byWin) {
    const targets = list.map((s) => label.get(s.nodeId) ?? s.nodeId).join(", ");
    out.push(`  #${win}  ${list[0]!.note}  → ${list.length === 1 ? "node" : "nodes"} ${targets}`);
  }
  return out;
}
