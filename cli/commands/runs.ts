/** `kforge runs`: the search runs in the database, newest first, with status, best speedup, nodes and cost. */
import { existsSync } from "node:fs";
import { openDatabase } from "../../memory/db.ts";
import { openTraceReader } from "../../memory/trace-reader.ts";
import { traceVersion } from "../../memory/trace-queries.ts";
import type { RunRow } from "../../memory/trace-types.ts";
import { formatRunTime, runTime } from "../../memory/run-time.ts";
import { HEARTBEAT_MS } from "../../graph/run.ts";
import { DB_OPTION, dbPathOf, emit, type Command } from "../command.ts";
import { inertText } from "../../core/inert-text.ts";
import { positiveInt } from "../int-option.ts";
import { runReason, shortReason } from "../trace/tree-text.ts";

/** A run marked running whose heartbeat is older than this has lost its process (killed, crashed). */
export const STALE_AFTER_MS = 4 * HEARTBEAT_MS;

/** The `runs` subcommand. */
export const runsCommand: Command = {
  name: "runs",
  summary: "list search runs: status (and why a run failed or stopped), best speedup, nodes, cost",
  usage: "kforge runs [--limit N] [--db PATH]",
  options: { limit: { type: "string", valueName: "N", description: "show the N most recent runs", default: "50" }, db: DB_OPTION },
  async run(args, ctx) {
    const limitArg = args.values["limit"];
    const limit = positiveInt(typeof limitArg === "string" ? limitArg : "50", "--limit");
    const dbPath = dbPathOf(args, ctx);
    const none = (why: string) => emit(ctx, [], () => `no runs yet (${why}); start one with \`kforge search --problem NAME\``);
    if (!existsSync(dbPath)) {
      none(`no database at ${dbPath}`);
      return 0;
    }
    // A file with only the memory of wins (a `memory import`) holds no trace yet: nothing to list.
    const probe = openDatabase(dbPath, { readonly: true });
    const hasTrace = traceVersion(probe) > 0;
    probe.close();
    if (!hasTrace) {
      none(`${dbPath} holds no search trace`);
      return 0;
    }
    // Read-only and query-only: listing runs never writes (nor migrates) a file a search may be writing.
    const reader = openTraceReader(dbPath);
    try {
      const runs = reader.queries.listRuns(limit).map((r) => ({ ...r, status: liveStatus(r) }));
      emit(
        ctx,
        runs.map(({ config: _c, budget, ...r }) => ({ ...r, budget })),
        () => (runs.length ? table(runs) : "no runs yet; start one with `kforge search --problem NAME`"),
      );
      return 0;
    } finally {
      reader.close();
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
      r.id,
      inertText(r.problem),
      r.status + (r.stopReason && (r.status === "done" || r.status === "stopped") ? ` (${r.stopReason})` : ""),
      r.bestSpeedup === null ? "-" : `${r.bestSpeedup.toFixed(3)}x`,
      String(r.nodes),
      String(r.correct),
      `$${r.costUsd.toFixed(2)}`,
      formatRunTime(runTime(r).ms),
      new Date(r.startedAt).toISOString().slice(0, 16).replace("T", " "),
    ]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r, i) => {
      const line = r
        .map((c, j) => c.padEnd(w[j]!))
        .join("  ")
        .trimEnd();
      // Under a failed or stopped run, why (shortened; `kforge runs --json` has all of it).
      const reason = i === 0 ? null : runReason(runs[i - 1]!);
      return reason === null ? line : `${line}\n  reason: ${shortReason(reason)}`;
    })
    .join("\n");
}
