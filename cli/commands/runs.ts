/** `kforge runs`: the search runs in the database, newest first, with status, best speedup, nodes and cost. */
import { existsSync } from "node:fs";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { RunRow } from "../../memory/trace-types.ts";
import { formatRunTime, runTime } from "../../memory/run-time.ts";
import { HEARTBEAT_MS } from "../../graph/run.ts";
import { emit, type Command } from "../command.ts";
import { inertText } from "../../core/inert-text.ts";

/** A run marked running whose heartbeat is older than this has lost its process (killed, crashed). */
export const STALE_AFTER_MS = 4 * HEARTBEAT_MS;

/** The `runs` subcommand. */
export const runsCommand: Command = {
  name: "runs",
  summary: "list search runs: status, best speedup, nodes, cost",
  usage: "kforge runs [--limit N]",
  options: { limit: { type: "string", valueName: "N", description: "show the N most recent runs", default: "50" } },
  async run(args, ctx) {
    if (!existsSync(ctx.config.dbPath)) {
      emit(ctx, [], () => `no runs yet (no database at ${ctx.config.dbPath}); start one with \`kforge search --problem NAME\``);
      return 0;
    }
    const db = openDatabase(ctx.config.dbPath);
    try {
      const store = new TraceStore(db).setup();
      const runs = store.listRuns(Number(args.values["limit"] ?? 50) || 50).map((r) => ({ ...r, status: liveStatus(r) }));
      emit(
        ctx,
        runs.map(({ config: _c, budget, ...r }) => ({ ...r, budget })),
        () => (runs.length ? table(runs) : "no runs yet; start one with `kforge search --problem NAME`"),
      );
      return 0;
    } finally {
      db.close();
    }
  },
};

/** "stale" for a running run whose process stopped beating (resume it). */
function liveStatus(r: RunRow): string {
  return r.status === "running" && (r.heartbeatAt === null || Date.now() - r.heartbeatAt > STALE_AFTER_MS) ? "stale" : r.status;
}

function table(runs: (Omit<RunRow, "status"> & { status: string })[]): string {
  const rows = [
    ["RUN", "PROBLEM", "STATUS", "BEST", "NODES", "CORRECT", "COST", "TIME", "STARTED"],
    ...runs.map((r) => [
      r.id, inertText(r.problem), r.status + (r.stopReason && (r.status === "done" || r.status === "stopped") ? ` (${r.stopReason})` : ""),
      r.bestSpeedup === null ? "-" : `${r.bestSpeedup.toFixed(3)}x`, String(r.nodes), String(r.correct), `$${r.costUsd.toFixed(2)}`,
      formatRunTime(runTime(r).ms), new Date(r.startedAt).toISOString().slice(0, 16).replace("T", " "),
    ]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()).join("\n");
}
