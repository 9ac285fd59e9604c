/**
 * Schema history of the memory of wins (component "wins" in kforge_migrations). Append new
 * versions; never edit an applied one: databases in the field have run it.
 */
import type { DB, Migration } from "./db.ts";
import { extractFeatures } from "./features.ts";
import { ftsDocument, mergeDocs, type FtsDocument } from "./fts-text.ts";

/**
 * Recomputes the derived `features` column of every win and rebuilds the per-problem full-text
 * documents from scratch (used by v2 and by `WinsStore.reindex`).
 */
export function rebuildDerived(db: DB): number {
  const rows = db.prepare("SELECT id, problem, description, score_mod, mask_mod, tags, params, shapes, ideas FROM wins ORDER BY id").all() as Array<{
    id: number;
    problem: string;
    description: string;
    score_mod: string | null;
    mask_mod: string | null;
    tags: string;
    params: string;
    shapes: string;
    ideas: string;
  }>;
  const setFeatures = db.prepare("UPDATE wins SET features = ? WHERE id = ?");
  const docs = new Map<string, FtsDocument>();
  for (const r of rows) {
    const { features } = extractFeatures({
      description: r.description,
      scoreMod: r.score_mod,
      maskMod: r.mask_mod,
      tags: JSON.parse(r.tags) as string[],
      params: JSON.parse(r.params) as Record<string, unknown>,
      shapes: JSON.parse(r.shapes) as Array<{ H: number; Hkv?: number }>,
    });
    setFeatures.run(features.join(" "), r.id);
    const add = ftsDocument({
      problem: r.problem,
      description: r.description,
      features,
      ideas: JSON.parse(r.ideas) as string[],
      scoreMod: r.score_mod,
      maskMod: r.mask_mod,
    });
    docs.set(r.problem, mergeDocs(docs.get(r.problem), add));
  }
  db.exec("DELETE FROM wins_fts; DELETE FROM win_problems;");
  const insertProblem = db.prepare("INSERT INTO win_problems (problem) VALUES (?)");
  const insertDoc = db.prepare(
    "INSERT INTO wins_fts (rowid, problem, description, tags, ideas, code) VALUES (@id, @problem, @description, @tags, @ideas, @code)",
  );
  for (const [problem, doc] of docs) insertDoc.run({ id: insertProblem.run(problem).lastInsertRowid, ...doc });
  return rows.length;
}

/** The versions, in order. */
export const WINS_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "wins and their kernels (deduplicated by content hash)",
    up: (db) =>
      db.exec(`
        CREATE TABLE win_kernels (
          hash TEXT PRIMARY KEY,            -- sha256 of the source text, hex
          source TEXT NOT NULL,
          bytes INTEGER NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE wins (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          problem TEXT NOT NULL,
          description TEXT NOT NULL DEFAULT '',
          score_mod TEXT,
          mask_mod TEXT,
          tags TEXT NOT NULL DEFAULT '[]',   -- JSON array of Tag
          params TEXT NOT NULL DEFAULT '{}', -- JSON object
          kernel_hash TEXT NOT NULL UNIQUE REFERENCES win_kernels(hash),
          speedup REAL NOT NULL CHECK (speedup > 0),
          tflops REAL,
          shapes TEXT NOT NULL DEFAULT '[]', -- JSON array of {B,H,Hkv?,S,D}
          gpu TEXT NOT NULL,
          ideas TEXT NOT NULL DEFAULT '[]',  -- JSON array of the critic's key ideas
          run_id TEXT,
          node_id TEXT,
          created_at TEXT NOT NULL
        );
        CREATE INDEX wins_problem ON wins(problem, speedup DESC);`),
  },
  {
    version: 2,
    description: "retrieval: derived features column, a covering scan index, an FTS5 index per problem (backfilled)",
    up: (db) => {
      db.exec(`
        ALTER TABLE wins ADD COLUMN features TEXT NOT NULL DEFAULT ''; -- space-separated, derived
        CREATE INDEX wins_scan ON wins(features, gpu, speedup, problem);
        CREATE TABLE win_problems (id INTEGER PRIMARY KEY, problem TEXT NOT NULL UNIQUE); -- rowids of wins_fts
        CREATE VIRTUAL TABLE wins_fts USING fts5(problem, description, tags, ideas, code, tokenize = 'porter unicode61');`);
      rebuildDerived(db);
    },
  },
  {
    version: 3,
    description: "which memory entries seeded which search node",
    up: (db) =>
      db.exec(`
        CREATE TABLE win_seedings (
          run_id TEXT NOT NULL,
          node_id TEXT NOT NULL,
          win_id INTEGER NOT NULL,          -- no foreign key: the record outlives a removed win
          kernel_hash TEXT NOT NULL,
          rank INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (run_id, node_id, win_id)
        );
        CREATE INDEX win_seedings_win ON win_seedings(win_id);`),
  },
  {
    version: 4,
    description: "feature-group summary kept by triggers, so retrieval reads tens of groups instead of every win",
    up: (db) =>
      db.exec(`
        CREATE TABLE win_groups (
          features TEXT NOT NULL,
          gpu TEXT NOT NULL,
          n INTEGER NOT NULL,               -- wins in the group
          best REAL NOT NULL,               -- their best speedup
          PRIMARY KEY (features, gpu)
        ) WITHOUT ROWID;
        INSERT INTO win_groups (features, gpu, n, best) SELECT features, gpu, COUNT(*), MAX(speedup) FROM wins GROUP BY features, gpu;
        CREATE TRIGGER win_groups_insert AFTER INSERT ON wins BEGIN
          INSERT INTO win_groups (features, gpu, n, best) VALUES (new.features, new.gpu, 1, new.speedup)
            ON CONFLICT (features, gpu) DO UPDATE SET n = n + 1, best = max(best, excluded.best);
        END;
        CREATE TRIGGER win_groups_delete AFTER DELETE ON wins BEGIN
          UPDATE win_groups SET n = n - 1,
            best = coalesce((SELECT MAX(speedup) FROM wins WHERE features = old.features AND gpu = old.gpu), 0)
            WHERE features = old.features AND gpu = old.gpu;
          DELETE FROM win_groups WHERE features = old.features AND gpu = old.gpu AND n <= 0;
        END;
        CREATE TRIGGER win_groups_update AFTER UPDATE OF features, gpu, speedup ON wins BEGIN
          UPDATE win_groups SET n = n - 1,
            best = coalesce((SELECT MAX(speedup) FROM wins WHERE features = old.features AND gpu = old.gpu), 0)
            WHERE features = old.features AND gpu = old.gpu;
          DELETE FROM win_groups WHERE features = old.features AND gpu = old.gpu AND n <= 0;
          INSERT INTO win_groups (features, gpu, n, best) VALUES (new.features, new.gpu, 1, new.speedup)
            ON CONFLICT (features, gpu) DO UPDATE SET n = n + 1, best = max(best, excluded.best);
        END;`),
  },
];
