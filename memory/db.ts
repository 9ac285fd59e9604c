/**
 * Opens the one kforge SQLite file (WAL) and applies versioned migrations. Every store
 * (trace store, memory of wins) owns a named migration list; `applyMigrations` is idempotent.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { sqliteNativeBinding } from "../core/config.ts";

export type DB = Database.Database;

/** Opens (creating if needed) the database at `path` (":memory:" in tests), in WAL mode. */
export function openDatabase(path: string, opts: { readonly?: boolean } = {}): DB {
  if (path !== ":memory:" && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const nativeBinding = sqliteNativeBinding();
  const db = new Database(path, {
    readonly: opts.readonly ?? false,
    fileMustExist: opts.readonly ?? false,
    ...(nativeBinding ? { nativeBinding } : {}),
  });
  db.pragma("busy_timeout = 10000");
  if (!opts.readonly) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
  }
  return db;
}

/** One schema step of a component. Versions start at 1 and increase by 1. */
export interface Migration {
  version: number;
  description: string;
  up: (db: DB) => void;
}

/**
 * Applies the component's migrations not yet applied, under the write lock (BEGIN IMMEDIATE) so two
 * processes opening a fresh file at once cannot both migrate it. Returns the new version.
 */
export function applyMigrations(db: DB, component: string, migrations: Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations of ${component} must be numbered 1..n (found ${m.version} at ${i + 1})`);
  });
  const migrate = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS kforge_migrations (
      component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (component, version))`);
    const current = (db.prepare("SELECT MAX(version) AS v FROM kforge_migrations WHERE component = ?").get(component) as { v: number | null }).v ?? 0;
    const record = db.prepare("INSERT INTO kforge_migrations (component, version, description, applied_at) VALUES (?, ?, ?, ?)");
    for (const m of sorted) {
      if (m.version <= current) continue;
      m.up(db);
      record.run(component, m.version, m.description, new Date().toISOString());
    }
    return Math.max(current, sorted.length ? sorted[sorted.length - 1]!.version : 0);
  });
  return migrate.immediate();
}
