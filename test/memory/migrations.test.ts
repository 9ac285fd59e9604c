import { describe, expect, it } from "vitest";
import { applyMigrations, openDatabase } from "../../memory/db.ts";
import { retrieveWins } from "../../memory/retrieve.ts";
import { kernelHash, WinsStore } from "../../memory/wins.ts";
import { WINS_MIGRATIONS } from "../../memory/wins-migrations.ts";
import { H100, tempDbPath, win } from "./helpers.ts";

/** Writes wins the way version 1 of the schema stored them (no features column, no text index). */
function createV1Database(path: string): void {
  const db = openDatabase(path);
  expect(applyMigrations(db, "wins", WINS_MIGRATIONS.slice(0, 1))).toBe(1);
  const rows = [
    {
      problem: "softcap",
      description: "tanh soft-capping",
      score_mod: "def score_mod(score, b, h, q_idx, kv_idx):\n    return 30 * torch.tanh(score / 30)",
      mask_mod: null,
      tags: "[]",
      speedup: 1.9,
      ideas: '["tanh as 2*sigmoid(2x)-1"]',
    },
    {
      problem: "sliding_window",
      description: "local attention",
      score_mod: null,
      mask_mod: "def mask_mod(b, h, q_idx, kv_idx):\n    return (q_idx >= kv_idx) & (q_idx - kv_idx < 1024)",
      tags: "[]",
      speedup: 1.5,
      ideas: '["iterate only over the band"]',
    },
    {
      problem: "alibi",
      description: "ALiBi",
      score_mod: "def score_mod(score, b, h, q_idx, kv_idx):\n    return score + slopes[h] * (kv_idx - q_idx)",
      mask_mod: null,
      tags: '["alibi"]',
      speedup: 1.2,
      ideas: "[]",
    },
  ];
  const kernel = db.prepare("INSERT INTO win_kernels (hash, source, bytes, created_at) VALUES (?, ?, ?, ?)");
  const insert = db.prepare(`INSERT INTO wins (problem, description, score_mod, mask_mod, tags, params, kernel_hash, speedup, tflops,
    shapes, gpu, ideas, run_id, node_id, created_at) VALUES (@problem, @description, @score_mod, @mask_mod, @tags, '{}', @hash, @speedup,
    NULL, '[{"B":4,"H":16,"S":4096,"D":128}]', @gpu, @ideas, 'old-run', NULL, '2025-01-01T00:00:00.000Z')`);
  for (const r of rows) {
    const src = `# v1 kernel for ${r.problem}\n`;
    kernel.run(kernelHash(src), src, src.length, "2025-01-01T00:00:00.000Z");
    insert.run({ ...r, hash: kernelHash(src), gpu: H100 });
  }
  db.close();
}

describe("wins migrations", () => {
  it("migrates a version-1 database with rows to the latest version, deriving features and the text index", () => {
    const path = tempDbPath();
    createV1Database(path);
    const db = openDatabase(path);
    const store = new WinsStore(db).setup();
    const versions = db.prepare("SELECT version FROM kforge_migrations WHERE component = 'wins' ORDER BY version").pluck().all();
    expect(versions).toEqual(WINS_MIGRATIONS.map((m) => m.version));
    expect(versions.length).toBeGreaterThanOrEqual(4);
    expect(db.prepare("SELECT features, gpu, n FROM win_groups ORDER BY features").all()).toEqual([
      { features: "bias alibi", gpu: H100, n: 1 },
      { features: "causal mask windowed", gpu: H100, n: 1 },
      { features: "softcap", gpu: H100, n: 1 },
    ]);

    // Old rows gained features read from their sources, and are found by text and by features.
    const byProblem = Object.fromEntries(store.list().map((w) => [w.problem, w.features]));
    expect(byProblem).toEqual({ softcap: ["softcap"], sliding_window: ["causal", "mask", "windowed"], alibi: ["bias", "alibi"] });
    expect(store.textSearch('"band"', 5).map((h) => h.problem)).toEqual(["sliding_window"]);
    const r = retrieveWins(store, { description: "soft-capped sliding window", gpu: H100 }, { k: 2 });
    expect(r.results.map((x) => x.win.problem).sort()).toEqual(["sliding_window", "softcap"]);

    // The migrated store works for new wins and seeding records (v3).
    const id = store.remember(win("new", { problem: "softcap_causal" })).id;
    store.recordSeeding("run-1", "root", [id, 1]);
    expect(store.seedings("run-1")).toHaveLength(2);
    expect(store.get(1)).toMatchObject({ runId: "old-run", nodeId: null, kernelSource: "# v1 kernel for softcap\n" });
  });

  it("applies nothing twice: reopening a migrated database keeps its rows and versions", () => {
    const path = tempDbPath();
    createV1Database(path);
    new WinsStore(openDatabase(path)).setup();
    const db = openDatabase(path);
    new WinsStore(db).setup();
    expect(db.prepare("SELECT COUNT(*) FROM kforge_migrations WHERE component = 'wins'").pluck().get()).toBe(WINS_MIGRATIONS.length);
    expect(db.prepare("SELECT COUNT(*) FROM wins_fts").pluck().get()).toBe(3);
    expect(new WinsStore(db).count()).toBe(3);
  });

  it("reindex recomputes derived features after they were lost", () => {
    const { store, db } = (() => {
      const db = openDatabase(tempDbPath());
      return { db, store: new WinsStore(db).setup() };
    })();
    store.remember(win("a"));
    db.exec("UPDATE wins SET features = ''; DELETE FROM wins_fts;");
    expect(store.list()[0]!.features).toEqual([]);
    expect(store.reindex()).toBe(1);
    expect(store.list()[0]!.features).toEqual(["softcap"]);
    expect(store.textSearch('"softcap"', 5)).toHaveLength(1);
  });
});
