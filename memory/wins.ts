/**
 * The memory of wins: every verified improvement, its kernel (stored once per content hash), the
 * variant's features and the numbers, in the shared SQLite file. All SQL of the memory lives here.
 */
import { createHash } from "node:crypto";
import { ToolError } from "../core/errors.ts";
import { applyMigrations, type DB } from "./db.ts";
import { extractFeatures, type Feature } from "./features.ts";
import { ftsDocument, mergeDocs, WINS_FTS_WEIGHTS, type FtsDocument } from "./fts-text.ts";
import { WinInput, type ParsedWinInput, type RememberOutcome, type Seeding, type Win, type WinShape, type WinSummary } from "./win-schema.ts";
import { rebuildDerived, WINS_MIGRATIONS } from "./wins-migrations.ts";

/** The sha256 (hex) of a kernel's source text: its identity in memory and in exported files. */
export function kernelHash(source: string): string {
  return createHash("sha256").update(source, "utf8").digest("hex");
}

/** Wins sharing one feature set and GPU: how many, and the best speedup among them. */
export type FeatureGroup = [features: string, gpu: string, count: number, best: number];
/** What ranking needs of one win, without reading its row. */
export type WinKey = { id: number; problem: string; features: string; gpu: string; speedup: number };

interface WinRow {
  id: number;
  problem: string;
  description: string;
  score_mod: string | null;
  mask_mod: string | null;
  tags: string;
  params: string;
  kernel_hash: string;
  speedup: number;
  tflops: number | null;
  shapes: string;
  gpu: string;
  ideas: string;
  run_id: string | null;
  node_id: string | null;
  created_at: string;
  features: string;
  source?: string;
}

const SUMMARY_COLUMNS = "id, problem, description, tags, features, kernel_hash, speedup, tflops, gpu, created_at";

/**
 * The memory of wins over an injected database; `setup()` is idempotent and runs on first use.
 * Writes take the write lock up front (BEGIN IMMEDIATE) so that concurrent writers in other
 * processes wait on busy_timeout instead of failing when a read turns into a write.
 */
export class WinsStore {
  private stmts: ReturnType<WinsStore["prepare"]> | undefined;

  constructor(readonly db: DB) {}

  /** Applies the "wins" migrations and prepares the statements (safe to call any number of times). */
  setup(): this {
    if (!this.stmts) {
      // Under the write lock, so two processes opening a fresh file do not both migrate it; an
      // up-to-date file (the usual case) is only read, so readers never wait on a busy writer.
      if (schemaVersion(this.db) < WINS_MIGRATIONS.length) {
        this.db.transaction(() => applyMigrations(this.db, "wins", WINS_MIGRATIONS)).immediate();
      }
      this.stmts = this.prepare();
    }
    return this;
  }

  private prepare() {
    const db = this.db;
    const weights = WINS_FTS_WEIGHTS.join(", ");
    return {
      insertKernel: db.prepare("INSERT OR IGNORE INTO win_kernels (hash, source, bytes, created_at) VALUES (?, ?, ?, ?)"),
      byHash: db.prepare("SELECT id, speedup, ideas FROM wins WHERE kernel_hash = ?"),
      insertWin: db.prepare(`INSERT INTO wins (problem, description, score_mod, mask_mod, tags, params, kernel_hash, speedup,
        tflops, shapes, gpu, ideas, run_id, node_id, created_at, features) VALUES (@problem, @description, @scoreMod, @maskMod,
        @tags, @params, @kernelHash, @speedup, @tflops, @shapes, @gpu, @ideas, @runId, @nodeId, @createdAt, @features)`),
      improveWin: db.prepare(`UPDATE wins SET speedup = @speedup, tflops = @tflops, shapes = @shapes, gpu = @gpu, ideas = @ideas,
        run_id = @runId, node_id = @nodeId WHERE id = @id`),
      problemId: db.prepare("SELECT id FROM win_problems WHERE problem = ?").pluck(),
      insertProblem: db.prepare("INSERT INTO win_problems (problem) VALUES (?)"),
      deleteProblem: db.prepare("DELETE FROM win_problems WHERE id = ?"),
      readDoc: db.prepare("SELECT problem, description, tags, ideas, code FROM wins_fts WHERE rowid = ?"),
      deleteDoc: db.prepare("DELETE FROM wins_fts WHERE rowid = ?"),
      insertDoc: db.prepare(`INSERT INTO wins_fts (rowid, problem, description, tags, ideas, code)
        VALUES (@id, @problem, @description, @tags, @ideas, @code)`),
      winsOfProblem: db.prepare("SELECT * FROM wins WHERE problem = ? ORDER BY id"),
      get: db.prepare("SELECT w.*, k.source FROM wins w JOIN win_kernels k ON k.hash = w.kernel_hash WHERE w.id = ?"),
      list: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM wins WHERE (@problem IS NULL OR problem = @problem)
        ORDER BY problem, speedup DESC, id LIMIT @limit`),
      all: db.prepare(`SELECT w.*, k.source FROM wins w JOIN win_kernels k ON k.hash = w.kernel_hash
        WHERE (@problem IS NULL OR w.problem = @problem) ORDER BY w.id`),
      count: db.prepare("SELECT COUNT(*) AS n FROM wins"),
      deleteWin: db.prepare("DELETE FROM wins WHERE id = ?"),
      deleteOrphanKernel: db.prepare("DELETE FROM win_kernels WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM wins WHERE kernel_hash = ?)"),
      groups: db.prepare("SELECT features, gpu, n, best FROM win_groups").raw(true),
      groupTop: db.prepare(`SELECT id, problem, features, gpu, speedup FROM wins INDEXED BY wins_scan
        WHERE features = ? AND gpu = ? ORDER BY speedup DESC LIMIT ?`),
      problemTop: db.prepare("SELECT id, problem, features, gpu, speedup FROM wins WHERE problem = ? ORDER BY speedup DESC LIMIT ?"),
      // bm25 must be computed in the FTS table's own query, hence the subquery.
      text: db.prepare(`SELECT p.problem, h.bm25 FROM (SELECT rowid AS id, bm25(wins_fts, ${weights}) AS bm25 FROM wins_fts
        WHERE wins_fts MATCH ? ORDER BY bm25 LIMIT ?) h JOIN win_problems p ON p.id = h.id ORDER BY h.bm25`),
      summaries: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM wins WHERE id IN (SELECT value FROM json_each(?))`),
      insertSeeding: db.prepare(`INSERT OR REPLACE INTO win_seedings (run_id, node_id, win_id, kernel_hash, rank, created_at)
        VALUES (?, ?, ?, ?, ?, ?)`),
      seedings: db.prepare(`SELECT run_id, node_id, win_id, kernel_hash, rank, created_at FROM win_seedings
        WHERE run_id = @runId AND (@nodeId IS NULL OR node_id = @nodeId) ORDER BY node_id, rank`),
      kernelOf: db.prepare("SELECT kernel_hash FROM wins WHERE id = ?").pluck(),
      setIdeas: db.prepare("UPDATE wins SET ideas = ? WHERE id = ?"),
    };
  }

  private get s() {
    return this.setup().stmts!;
  }

  /** Remembers a verified win. A kernel already in memory is not stored twice: its numbers are replaced only by faster ones. */
  remember(input: WinInput): RememberOutcome {
    const w = WinInput.parse(input);
    this.setup();
    const hash = kernelHash(w.kernelSource);
    const now = new Date().toISOString();
    return this.db
      .transaction((): RememberOutcome => {
        const known = this.s.byHash.get(hash) as { id: number; speedup: number; ideas: string } | undefined;
        if (known) {
          const ideas = [...new Set([...(JSON.parse(known.ideas) as string[]), ...w.ideas])];
          if (w.speedup <= known.speedup) {
            // Same kernel, no faster: keep its numbers, but learn ideas it did not have (the critic's, after the fact).
            if (ideas.length > (JSON.parse(known.ideas) as string[]).length) {
              this.s.setIdeas.run(JSON.stringify(ideas), known.id);
              this.addToProblemDoc(this.get(known.id)!);
            }
            return { id: known.id, status: "duplicate", kernelHash: hash };
          }
          this.s.improveWin.run({ ...numbers(w), ideas: JSON.stringify(ideas), id: known.id });
          this.addToProblemDoc(this.get(known.id)!);
          return { id: known.id, status: "improved", kernelHash: hash };
        }
        this.s.insertKernel.run(hash, w.kernelSource, Buffer.byteLength(w.kernelSource), now);
        const { features } = extractFeatures(w);
        const id = Number(
          this.s.insertWin.run({
            ...numbers(w),
            problem: w.problem,
            description: w.description,
            scoreMod: w.scoreMod,
            maskMod: w.maskMod,
            tags: JSON.stringify(w.tags),
            params: JSON.stringify(w.params),
            kernelHash: hash,
            ideas: JSON.stringify(w.ideas),
            createdAt: w.createdAt ?? now,
            features: features.join(" "),
          }).lastInsertRowid,
        );
        this.addToProblemDoc({ ...w, features });
        return { id, status: "inserted", kernelHash: hash };
      })
      .immediate();
  }

  /** Merges a win's text into its problem's full-text document. */
  private addToProblemDoc(w: Parameters<typeof ftsDocument>[0]): void {
    let pid = this.s.problemId.get(w.problem) as number | undefined;
    if (pid === undefined) pid = Number(this.s.insertProblem.run(w.problem).lastInsertRowid);
    const old = this.s.readDoc.get(pid) as FtsDocument | undefined;
    this.s.deleteDoc.run(pid);
    this.s.insertDoc.run({ id: pid, ...mergeDocs(old, ftsDocument(w)) });
  }

  /** Rebuilds a problem's document from its remaining wins (after a removal). */
  private rebuildProblemDoc(problem: string): void {
    const pid = this.s.problemId.get(problem) as number | undefined;
    if (pid === undefined) return;
    this.s.deleteDoc.run(pid);
    this.s.deleteProblem.run(pid);
    for (const row of this.s.winsOfProblem.all(problem) as WinRow[]) this.addToProblemDoc(toWin(row));
  }

  /** One win with its kernel source, or undefined. */
  get(id: number): Win | undefined {
    const row = this.s.get.get(id) as WinRow | undefined;
    return row && toWin(row);
  }

  /** Wins without sources, best first within each problem. */
  list(opts: { problem?: string | undefined; limit?: number } = {}): WinSummary[] {
    return (this.s.list.all({ problem: opts.problem ?? null, limit: opts.limit ?? -1 }) as WinRow[]).map(toSummary);
  }

  /** Every win with its kernel source (for export), optionally of one problem. */
  all(opts: { problem?: string | undefined } = {}): Win[] {
    return (this.s.all.all({ problem: opts.problem ?? null }) as WinRow[]).map(toWin);
  }

  /** The id of the win holding this kernel, if any. */
  idOfKernel(hash: string): number | undefined {
    return (this.s.byHash.get(hash) as { id: number } | undefined)?.id;
  }

  count(): number {
    return (this.s.count.get() as { n: number }).n;
  }

  /** Forgets a win (its kernel too when no other win uses it). Returns false if there was none. */
  remove(id: number): boolean {
    this.setup();
    return this.db
      .transaction(() => {
        const win = this.s.get.get(id) as WinRow | undefined;
        if (win === undefined) return false;
        this.s.deleteWin.run(id);
        this.s.deleteOrphanKernel.run(win.kernel_hash, win.kernel_hash);
        this.rebuildProblemDoc(win.problem);
        return true;
      })
      .immediate();
  }

  /** Recomputes derived features and the text index (after the feature extractor changed). Returns the rows done. */
  reindex(): number {
    this.setup();
    return this.db.transaction(() => rebuildDerived(this.db)).immediate();
  }

  /** Records that these wins (best first) seeded node `nodeId` of run `runId`; unknown ids are an error. */
  recordSeeding(runId: string, nodeId: string, winIds: readonly number[]): void {
    const now = new Date().toISOString();
    this.setup();
    this.db
      .transaction(() => {
        winIds.forEach((winId, rank) => {
          const hash = this.s.kernelOf.get(winId) as string | undefined;
          if (hash === undefined) throw new ToolError(`memory has no win #${winId} to record as a seed of node ${nodeId}`);
          this.s.insertSeeding.run(runId, nodeId, winId, hash, rank + 1, now);
        });
      })
      .immediate();
  }

  /** The seeding records of a run (one node's when nodeId is given), by node then rank. */
  seedings(runId: string, nodeId?: string): Seeding[] {
    const rows = this.s.seedings.all({ runId, nodeId: nodeId ?? null }) as Array<Record<string, string | number>>;
    return rows.map((r) => ({
      runId: String(r["run_id"]),
      nodeId: String(r["node_id"]),
      winId: Number(r["win_id"]),
      kernelHash: String(r["kernel_hash"]),
      rank: Number(r["rank"]),
      createdAt: String(r["created_at"]),
    }));
  }

  /** Retrieval: wins grouped by (feature set, GPU), as the triggers of migration v4 keep them. */
  featureGroups(): FeatureGroup[] {
    return this.s.groups.all() as FeatureGroup[];
  }

  /** Retrieval: the fastest wins of one (feature set, GPU) group. */
  topOfGroup(features: string, gpu: string, limit: number): WinKey[] {
    return this.s.groupTop.all(features, gpu, limit) as WinKey[];
  }

  /** Retrieval: the fastest wins of one problem. */
  topOfProblem(problem: string, limit: number): WinKey[] {
    return this.s.problemTop.all(problem, limit) as WinKey[];
  }

  /** Retrieval: the problems whose documents best match an FTS5 expression (bm25: lower is better). */
  textSearch(match: string, limit: number): Array<{ problem: string; bm25: number }> {
    return this.s.text.all(match, limit) as Array<{ problem: string; bm25: number }>;
  }

  /** Summaries of the given wins, in no particular order. */
  summaries(ids: readonly number[]): WinSummary[] {
    return ids.length ? (this.s.summaries.all(JSON.stringify(ids)) as WinRow[]).map(toSummary) : [];
  }
}

/** The applied version of the "wins" schema (0 for a new file). */
export function schemaVersion(db: DB): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kforge_migrations'").get();
  if (!table) return 0;
  return (db.prepare("SELECT MAX(version) FROM kforge_migrations WHERE component = 'wins'").pluck().get() as number | null) ?? 0;
}

function numbers(w: ParsedWinInput) {
  return {
    speedup: w.speedup,
    tflops: w.tflops,
    shapes: JSON.stringify(w.shapes),
    gpu: w.gpu,
    runId: w.runId,
    nodeId: w.nodeId,
  };
}

function toSummary(r: WinRow): WinSummary {
  return {
    id: r.id,
    problem: r.problem,
    description: r.description,
    tags: JSON.parse(r.tags) as Feature[],
    features: (r.features ? r.features.split(" ") : []) as Feature[],
    kernelHash: r.kernel_hash,
    speedup: r.speedup,
    tflops: r.tflops,
    gpu: r.gpu,
    createdAt: r.created_at,
  };
}

function toWin(r: WinRow): Win {
  return {
    ...toSummary(r),
    scoreMod: r.score_mod,
    maskMod: r.mask_mod,
    params: JSON.parse(r.params) as Win["params"],
    shapes: JSON.parse(r.shapes) as WinShape[],
    ideas: JSON.parse(r.ideas) as string[],
    runId: r.run_id,
    nodeId: r.node_id,
    kernelSource: r.source ?? "",
  };
}
