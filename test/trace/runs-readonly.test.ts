/** `kforge runs`: reads the file a search may be writing without writing it (no migration, no bytes changed); checks its options. */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { WinsStore } from "../../memory/wins.ts";
import { buildRecordedRun } from "../fixtures/trace-fixture.ts";
import { kforge, recordedDb } from "./helpers.ts";

describe("kforge runs", () => {
  let fx: ReturnType<typeof recordedDb>;
  beforeAll(() => {
    fx = recordedDb();
  });
  afterAll(() => fx.cleanup());

  it("lists an older file as it is: its trace is not migrated and its bytes are unchanged", async () => {
    const old = join(fx.dir, "old-runs.sqlite");
    copyFileSync(fx.dbPath, old);
    const db = openDatabase(old);
    db.exec("ALTER TABLE trace_nodes DROP COLUMN error_ratio");
    db.prepare("DELETE FROM kforge_migrations WHERE component = 'trace' AND version >= 2").run();
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const before = readFileSync(old);

    const r = await kforge(["runs", "--db", old]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${fx.run.runId}\\s+softcap`));
    expect(readFileSync(old).equals(before)).toBe(true);
    const after = openDatabase(old, { readonly: true });
    try {
      expect(after.prepare("SELECT MAX(version) AS v FROM kforge_migrations WHERE component = 'trace'").get()).toEqual({ v: 1 });
    } finally {
      after.close();
    }
  });

  it("a file with only the memory of wins has no runs yet (and stays without a trace)", async () => {
    const winsOnly = join(fx.dir, "wins-only.sqlite");
    const db = openDatabase(winsOnly);
    new WinsStore(db).setup();
    db.close();
    const r = await kforge(["runs", "--db", winsOnly]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no runs yet \(.*holds no search trace\)/);
    const after = openDatabase(winsOnly, { readonly: true });
    try {
      expect(after.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'trace_%'").get()).toEqual({ n: 0 });
    } finally {
      after.close();
    }
  });

  it("--limit N shows the N most recent runs; a value that is not a positive integer is refused (the message of memory list --limit)", async () => {
    const two = join(fx.dir, "two-runs.sqlite");
    buildRecordedRun(two, { runId: "r-first" });
    buildRecordedRun(two, { runId: "r-second" });
    const ids = async (args: string[]) => {
      const r = await kforge(["runs", "--db", two, "--json", ...args]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { id: string }[]).map((x) => x.id).sort();
    };
    expect(await ids([])).toEqual(["r-first", "r-second"]);
    expect(await ids(["--limit", "1"])).toHaveLength(1);
    expect(await ids(["--limit", "2"])).toEqual(["r-first", "r-second"]);
    for (const bad of ["x", "0", "1.5", "-1", ""]) {
      const r = await kforge(["runs", "--db", two, "--limit", bad]);
      expect(r.code, `--limit ${bad}`).toBe(2);
      expect(r.stderr).toContain(`error (user): --limit must be a positive integer, got "${bad}"`);
      expect(r.stdout).toBe("");
    }
  });
});
