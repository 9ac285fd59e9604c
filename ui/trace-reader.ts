/**
 * A read-only view of the trace store for `kforge trace`, `kforge export` and `kforge ui`: its own
 * SQLite connection opened read-only (and query_only), so a search writing the same file in WAL mode
 * is never blocked or put at risk by someone browsing it.
 */
import { existsSync } from "node:fs";
import { openDatabase, type DB } from "../memory/db.ts";
import { TraceStore } from "../memory/trace-store.ts";
import { traceMigrations } from "../memory/trace-schema.ts";
import { UserError } from "../core/errors.ts";
import type { NodeRow, RunRow } from "./trace-view.ts";

/** The store over a read-only connection, and a way to close it. */
export interface TraceReader {
  store: TraceStore;
  db: DB;
  close(): void;
}

/** Opens the kforge database at `dbPath` for reading; a clear UserError when there is nothing to read. */
export function openTraceReader(dbPath: string): TraceReader {
  if (!existsSync(dbPath)) {
    throw new UserError(`no kforge database at ${dbPath}`, { hint: "run a search first (kforge search --problem NAME), or point --db / KFORGE_DB at the file" });
  }
  catchUpSchema(dbPath);
  const db = openDatabase(dbPath, { readonly: true });
  db.pragma("query_only = ON");
  try {
    return { store: new TraceStore(db).setup(), db, close: () => db.close() };
  } catch (err) {
    db.close();
    if (err instanceof Error && /no such table/.test(err.message)) {
      throw new UserError(`${dbPath} holds no search trace yet`, { hint: "run a search first (kforge search --problem NAME)", cause: err });
    }
    throw err;
  }
}

/**
 * A database written by an older kforge lacks the newest trace columns, and a read-only connection
 * cannot add them: apply the (additive) migrations once through a short-lived writable connection.
 */
function catchUpSchema(dbPath: string): void {
  const probe = openDatabase(dbPath, { readonly: true });
  let behind = false;
  try {
    const row = probe.prepare("SELECT MAX(version) AS v FROM kforge_migrations WHERE component = 'trace'").get() as { v: number | null } | undefined;
    behind = row?.v !== null && row?.v !== undefined && row.v < traceMigrations.length;
  } catch {
    // No migrations table: not a kforge trace database (reported when the store prepares).
  } finally {
    probe.close();
  }
  if (!behind) return;
  const db = openDatabase(dbPath);
  try {
    new TraceStore(db).setup();
  } finally {
    db.close();
  }
}

/** The run named `id` (or a unique prefix of its id); "latest" or "last" is the newest run. */
export function findRun(reader: TraceReader, id: string): RunRow {
  const runs = reader.store.listRuns(10_000);
  if ((id === "latest" || id === "last") && runs[0]) return runs[0];
  const exact = runs.find((r) => r.id === id);
  if (exact) return exact;
  const matches = runs.filter((r) => r.id.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UserError(`"${id}" matches ${matches.length} runs`, { hint: `be more specific: ${matches.slice(0, 5).map((r) => r.id).join(", ")}` });
  throw new UserError(`no run "${id}" in the database`, { hint: runs.length ? `recent runs: ${runs.slice(0, 5).map((r) => r.id).join(", ")}` : "no runs recorded yet" });
}

/** A node of `run` named by id or label ("3.2", "root"). */
export function findNode(reader: TraceReader, run: RunRow, idOrLabel: string): NodeRow {
  const node = reader.store.getNode(idOrLabel, run.id);
  if (!node || node.runId !== run.id) throw new UserError(`no node "${idOrLabel}" in run ${run.id}`, { hint: `see the tree: kforge trace ${run.id}` });
  return node;
}
