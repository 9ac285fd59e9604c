/**
 * The trace store's tables (component "trace"). Every row hangs off a run; kernel sources, prompts,
 * reasoning and other long texts live once in `trace_artifacts`, keyed by their sha256.
 * Timestamps are milliseconds since the epoch (INTEGER).
 */
import type { DB, Migration } from "./db.ts";

/** The trace store's migrations, in order. */
export const traceMigrations: Migration[] = [
  {
    version: 1,
    description: "runs, nodes, artifacts, llm calls, verifications, profiles, critiques, plans, seeds, events",
    up: (db) => {
      db.exec(`
        CREATE TABLE trace_runs (
          id TEXT PRIMARY KEY,
          problem TEXT NOT NULL,
          config TEXT NOT NULL,             -- JSON: the search options (budget, branching, seed, models...)
          status TEXT NOT NULL CHECK (status IN ('running','done','failed','interrupted')),
          stop_reason TEXT,
          error TEXT,
          budget TEXT NOT NULL,             -- JSON: the Budget limits
          started_at INTEGER NOT NULL,
          ended_at INTEGER,
          active_ms INTEGER NOT NULL DEFAULT 0, -- wall time spent searching, summed over resumes
          heartbeat_at INTEGER,
          pid INTEGER,
          best_node TEXT,
          best_speedup REAL,
          prompt_tokens INTEGER NOT NULL DEFAULT 0,
          completion_tokens INTEGER NOT NULL DEFAULT 0,
          reasoning_tokens INTEGER NOT NULL DEFAULT 0,
          cost_usd REAL NOT NULL DEFAULT 0,
          llm_calls INTEGER NOT NULL DEFAULT 0,
          change_seq INTEGER NOT NULL DEFAULT 0 -- bumped on every node change: the cursor of nodesSince
        );
        CREATE TABLE trace_artifacts (
          hash TEXT PRIMARY KEY,            -- sha256 of content
          kind TEXT NOT NULL,               -- kernel | prompt | reasoning | response | text
          bytes INTEGER NOT NULL,
          content TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE trace_nodes (
          id TEXT PRIMARY KEY,              -- "<run>.<iteration>.<k>", root "<run>.0"
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          parent_id TEXT REFERENCES trace_nodes(id),
          label TEXT NOT NULL,              -- short per-run id shown to users: "root", "3.2"
          depth INTEGER NOT NULL,
          iteration INTEGER NOT NULL,
          title TEXT NOT NULL DEFAULT '',
          idea TEXT NOT NULL DEFAULT '',
          status TEXT NOT NULL,             -- root | coding | coded | no_kernel | failed | <VerifyResult status>
          speedup REAL,
          tflops REAL,
          summary TEXT NOT NULL DEFAULT '',
          kernel_hash TEXT REFERENCES trace_artifacts(hash),
          origin TEXT NOT NULL DEFAULT 'llm', -- llm | offline | memory | root
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          change_seq INTEGER NOT NULL
        );
        CREATE INDEX trace_nodes_run ON trace_nodes(run_id, change_seq);
        CREATE INDEX trace_nodes_parent ON trace_nodes(parent_id);
        CREATE TABLE trace_llm_calls (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT REFERENCES trace_nodes(id),
          role TEXT NOT NULL,
          provider TEXT NOT NULL,
          model TEXT NOT NULL,
          prompt_hash TEXT REFERENCES trace_artifacts(hash),
          reasoning_hash TEXT REFERENCES trace_artifacts(hash),
          response_hash TEXT REFERENCES trace_artifacts(hash),
          prompt_tokens INTEGER NOT NULL DEFAULT 0,
          completion_tokens INTEGER NOT NULL DEFAULT 0,
          reasoning_tokens INTEGER NOT NULL DEFAULT 0,
          latency_ms REAL NOT NULL DEFAULT 0,
          cost_usd REAL NOT NULL DEFAULT 0,
          attempts INTEGER NOT NULL DEFAULT 1,
          finish_reason TEXT,
          error TEXT,                       -- set when the call failed (after retries) or its reply was unusable
          created_at INTEGER NOT NULL
        );
        CREATE INDEX trace_llm_calls_node ON trace_llm_calls(node_id);
        CREATE INDEX trace_llm_calls_run ON trace_llm_calls(run_id);
        CREATE TABLE trace_verifications (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT NOT NULL REFERENCES trace_nodes(id),
          status TEXT NOT NULL,
          speedup REAL,
          tflops REAL,
          result TEXT NOT NULL,             -- VerifyResult JSON
          created_at INTEGER NOT NULL
        );
        CREATE INDEX trace_verifications_node ON trace_verifications(node_id);
        CREATE INDEX trace_verifications_run ON trace_verifications(run_id, created_at);
        CREATE TABLE trace_profiles (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT NOT NULL REFERENCES trace_nodes(id),
          status TEXT NOT NULL,             -- ok | unavailable | failed
          outcome TEXT NOT NULL,            -- ProfileOutcome JSON
          bottlenecks TEXT,                 -- the profiler agent's output JSON (null when not analysed)
          cost_ms REAL NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX trace_profiles_node ON trace_profiles(node_id);
        CREATE TABLE trace_critiques (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT NOT NULL REFERENCES trace_nodes(id),
          verdict TEXT NOT NULL,
          critique TEXT NOT NULL,           -- Critique JSON {verdict, issues, nextIdeas, keyIdeas}
          created_at INTEGER NOT NULL
        );
        CREATE INDEX trace_critiques_node ON trace_critiques(node_id);
        CREATE TABLE trace_plans (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT NOT NULL REFERENCES trace_nodes(id), -- the node that was expanded
          iteration INTEGER NOT NULL,
          plan TEXT NOT NULL,               -- Plan JSON {ideas: [{title, idea}], rationale}
          created_at INTEGER NOT NULL,
          UNIQUE (run_id, iteration)
        );
        CREATE TABLE trace_seeds (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT NOT NULL REFERENCES trace_nodes(id),
          win_id TEXT NOT NULL,             -- memory-of-wins entry id
          rank INTEGER NOT NULL,
          score REAL,
          note TEXT NOT NULL DEFAULT '',
          created_at INTEGER NOT NULL,
          UNIQUE (node_id, win_id)
        );
        CREATE TABLE trace_events (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES trace_runs(id),
          node_id TEXT REFERENCES trace_nodes(id),
          kind TEXT NOT NULL,               -- e.g. profile_unavailable, resume, interrupt, budget, model_error
          message TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX trace_events_run ON trace_events(run_id, id);
      `);
    },
  },
  {
    version: 2,
    description: "nodes: error_ratio (wrong output's worst error / allowance) for the tree policy",
    up: (db) => {
      db.exec(`ALTER TABLE trace_nodes ADD COLUMN error_ratio REAL`);
    },
  },
  {
    version: 3,
    description: "runs: the baseline timings measured once per run (BaselineTimings JSON)",
    up: (db) => {
      db.exec(`ALTER TABLE trace_runs ADD COLUMN baseline TEXT`);
    },
  },
  {
    version: 4,
    description: "runs: status 'stopped' (model endpoint unreachable, resumable); llm calls: retries (why each failed attempt failed)",
    up: (db) => {
      db.exec(`ALTER TABLE trace_llm_calls ADD COLUMN retries TEXT NOT NULL DEFAULT '[]'`);
      allowRunStatus(db, "stopped");
    },
  },
];

/**
 * Adds a value to trace_runs' status CHECK. SQLite cannot alter a CHECK constraint, and rebuilding
 * the table needs foreign keys off (impossible inside the migration's transaction); widening the
 * list leaves every stored row valid, which is the case SQLite documents editing the schema text for.
 */
function allowRunStatus(db: DB, status: string): void {
  const row = db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'trace_runs'`).get() as { sql: string };
  const check = /CHECK \(status IN \(([^)]*)\)\)/.exec(row.sql);
  if (!check) throw new Error("trace_runs has no status CHECK to widen");
  if (check[1]!.includes(`'${status}'`)) return;
  const widened = row.sql.replace(check[0], `CHECK (status IN (${check[1]},'${status}'))`);
  const version = db.pragma("schema_version", { simple: true }) as number;
  db.unsafeMode(true);
  try {
    db.pragma("writable_schema = ON");
    db.prepare(`UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'trace_runs'`).run(widened);
    db.pragma(`schema_version = ${version + 1}`);
    db.pragma("writable_schema = OFF");
  } finally {
    db.unsafeMode(false);
  }
}
