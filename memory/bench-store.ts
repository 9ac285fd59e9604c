/**
 * Bench sessions (`kforge bench kernelbench`): one row per bench, one per problem with its search run and result,
 * in the kforge file beside the trace, so an interrupted bench resumes with the problems it had not finished.
 */
import { applyMigrations, type DB, type Migration } from "./db.ts";

const benchMigrations: Migration[] = [
  {
    version: 1,
    description: "bench sessions and their problems",
    up: (db) =>
      db.exec(`CREATE TABLE bench_sessions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE bench_problems (bench_id TEXT NOT NULL REFERENCES bench_sessions(id), position INTEGER NOT NULL,
        name TEXT NOT NULL, ref TEXT NOT NULL, run_id TEXT, status TEXT NOT NULL, result TEXT,
        PRIMARY KEY (bench_id, position));`),
  },
];

/** A bench's state: `running` while a process drives it (or was killed doing so), then `interrupted` or `done`. */
export type BenchStatus = "running" | "interrupted" | "done";
/** A problem's state: `pending` (no run yet), `started` (its run exists, not finished), `done` (result recorded). */
export type BenchProblemStatus = "pending" | "started" | "done";

export interface BenchRow {
  id: string;
  kind: string;
  config: Record<string, unknown>;
  status: BenchStatus;
  createdAt: string;
}

export interface BenchProblemRow {
  position: number;
  name: string;
  ref: string;
  runId: string | null;
  status: BenchProblemStatus;
  result: unknown;
}

/** All SQL of bench sessions. */
export class BenchStore {
  constructor(readonly db: DB) {}

  setup(): this {
    applyMigrations(this.db, "bench", benchMigrations);
    return this;
  }

  create(id: string, kind: string, config: Record<string, unknown>, problems: Array<{ name: string; ref: string }>): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO bench_sessions (id, kind, config, status, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)")
        .run(id, kind, JSON.stringify(config), now, now);
      const ins = this.db.prepare("INSERT INTO bench_problems (bench_id, position, name, ref, status) VALUES (?, ?, ?, ?, 'pending')");
      problems.forEach((p, i) => {
        ins.run(id, i, p.name, p.ref);
      });
    })();
  }

  get(id: string): BenchRow | null {
    const r = this.db.prepare("SELECT id, kind, config, status, created_at FROM bench_sessions WHERE id = ?").get(id) as
      | { id: string; kind: string; config: string; status: BenchStatus; created_at: string }
      | undefined;
    return r ? { id: r.id, kind: r.kind, config: JSON.parse(r.config) as Record<string, unknown>, status: r.status, createdAt: r.created_at } : null;
  }

  /** Bench ids starting with `prefix`, newest first. */
  find(prefix: string): string[] {
    return (
      this.db.prepare("SELECT id FROM bench_sessions WHERE id LIKE ? ORDER BY created_at DESC").all(`${prefix.replace(/[%_]/g, "")}%`) as {
        id: string;
      }[]
    ).map((r) => r.id);
  }

  problems(id: string): BenchProblemRow[] {
    const rows = this.db
      .prepare("SELECT position, name, ref, run_id, status, result FROM bench_problems WHERE bench_id = ? ORDER BY position")
      .all(id) as Array<{
      position: number;
      name: string;
      ref: string;
      run_id: string | null;
      status: BenchProblemStatus;
      result: string | null;
    }>;
    return rows.map((r) => ({
      position: r.position,
      name: r.name,
      ref: r.ref,
      runId: r.run_id,
      status: r.status,
      result: r.result === null ? null : JSON.parse(r.result),
    }));
  }

  /** The problem's search run exists (recorded as soon as its id is known, so a killed bench resumes that run). */
  started(id: string, position: number, runId: string): void {
    this.db.prepare("UPDATE bench_problems SET run_id = ?, status = 'started' WHERE bench_id = ? AND position = ?").run(runId, id, position);
  }

  finished(id: string, position: number, result: unknown): void {
    this.db
      .prepare("UPDATE bench_problems SET status = 'done', result = ? WHERE bench_id = ? AND position = ?")
      .run(JSON.stringify(result), id, position);
  }

  setStatus(id: string, status: BenchStatus): void {
    this.db.prepare("UPDATE bench_sessions SET status = ?, updated_at = ? WHERE id = ?").run(status, new Date().toISOString(), id);
  }
}
