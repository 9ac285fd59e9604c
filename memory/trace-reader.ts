/**
 * Opening the trace for reading (`kforge trace`, `kforge export`, `kforge ui`): a read-only, query-only
 * connection, so a search writing the same file in WAL mode is never blocked or put at risk by someone
 * browsing it; and the one way runs and nodes are named on the command line.
 */
import { existsSync } from "node:fs";
import { UserError } from "../core/errors.ts";
import { openDatabase } from "./db.ts";
import { TraceQueries } from "./trace-queries.ts";
import type { ReadRun } from "./trace-rows.ts";
import type { NodeRow } from "./trace-types.ts";

/** The queries over a read-only connection, and a way to close it. */
export interface TraceReader {
  queries: TraceQueries;
  close(): void;
}

/** Opens the kforge database at `dbPath` for reading; a clear UserError when there is nothing to read. */
export function openTraceReader(dbPath: string): TraceReader {
  if (!existsSync(dbPath)) {
    throw new UserError(`no kforge database at ${dbPath}`, {
      hint: "run a search first (kforge search --problem NAME), or point --db / KFORGE_DB at the file",
    });
  }
  const db = openDatabase(dbPath, { readonly: true });
  try {
    db.pragma("query_only = ON");
    return { queries: new TraceQueries(db).setup(), close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The run named `ref`: its id, a unique prefix of it, or "latest" / "last" for the newest run. */
export function findRun(q: TraceQueries, ref: string): ReadRun {
  if (ref === "latest" || ref === "last") {
    const newest = q.listRuns(1)[0];
    if (newest) return newest;
    throw new UserError("no runs recorded yet", { hint: "run a search first (kforge search --problem NAME)" });
  }
  const exact = q.getRun(ref);
  if (exact) return exact;
  const matches = q.runIdsStartingWith(ref);
  if (matches.length === 1) return q.getRun(matches[0]!)!;
  if (matches.length > 1) throw new UserError(`"${ref}" matches several runs`, { hint: `be more specific: ${matches.slice(0, 5).join(", ")}` });
  const recent = q.listRuns(5).map((r) => r.id);
  throw new UserError(`no run "${ref}" in the database`, { hint: recent.length ? `recent runs: ${recent.join(", ")}` : "no runs recorded yet" });
}

/** A node of `run` named by label ("3.2", "root") or full id. */
export function findNode(q: TraceQueries, run: ReadRun, idOrLabel: string): NodeRow {
  const node = q.getNode(idOrLabel, run.id);
  if (!node) throw new UserError(`no node "${idOrLabel}" in run ${run.id}`, { hint: `see the tree: kforge trace ${run.id}` });
  return node;
}
