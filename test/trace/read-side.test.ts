/** The trace's read side (memory/trace-queries.ts): typed, read-only, never migrating, one run time, compile errors by cause. */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InfraError, UserError } from "../../core/errors.ts";
import { openDatabase } from "../../memory/db.ts";
import { formatRunTime, runTime, STALE_HEARTBEAT_MS } from "../../memory/run-time.ts";
import { traceQueries } from "../../memory/trace-queries.ts";
import { findNode, findRun, openTraceReader } from "../../memory/trace-reader.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { errorHeadline } from "../../tools/verifier/error-headline.ts";
import { FAILURES } from "../fixtures/trace-fixture-content.ts";
import { recordedDb } from "./helpers.ts";

/** Runs `fn` with a writable connection to the file (what a search holds). */
function write(dbPath: string, fn: (db: ReturnType<typeof openDatabase>, store: TraceStore) => void): void {
  const db = openDatabase(dbPath);
  try {
    fn(db, new TraceStore(db).setup());
  } finally {
    db.close();
  }
}

describe("the trace's read side", () => {
  let fx: ReturnType<typeof recordedDb>;
  beforeAll(() => {
    fx = recordedDb();
  });
  afterAll(() => fx.cleanup());

  it("returns parsed values: the run's budget, a node's critique, profile and plan", () => {
    const reader = openTraceReader(fx.dbPath);
    try {
      const q = reader.queries;
      const run = findRun(q, "latest");
      expect(run.id).toBe(fx.run.runId);
      expect(run.budget).toEqual({ wallMs: 8 * 3600_000, maxCostUsd: 20 });
      expect(findRun(q, "r2026").id).toBe(fx.run.runId);
      const node = findNode(q, run, "5.1");
      const profile = q.profile(node.id)!;
      expect(profile.outcome.status).toBe("ok");
      if (profile.outcome.status !== "ok") throw new Error("unreachable");
      expect(profile.outcome.summary.bound).toBe("latency");
      const plan = q.plan(run.id, node.iteration)!;
      expect(plan.nodeId).toBe(node.parentId);
      expect(plan.plan.ideas.map((i) => i.title)).toContain(node.title);
      expect(q.verification(node.id)).toMatchObject({ status: "ok", speedup: 1.83 });
      expect(() => findNode(q, run, "99.9")).toThrow(UserError);
      expect(() => findRun(q, "nope")).toThrow(/no run "nope"/);
    } finally {
      reader.close();
    }
  });

  it("parses critiques with the critic's schema (an unknown verdict is an error naming the node, not a cast)", () => {
    const reader = openTraceReader(fx.dbPath);
    try {
      // The recorded run's critiques use the old verdict "repairable", which the critic no longer writes.
      const failed = findNode(reader.queries, findRun(reader.queries, "latest"), "2.2");
      expect(() => reader.queries.critique(failed.id)).toThrow(InfraError);
      expect(() => reader.queries.critique(failed.id)).toThrow(new RegExp(`critique of ${failed.id.replace(/\./g, "\\.")}.*verdict`));
      // The UI's detail shows what was recorded, as recorded.
      expect(reader.queries.nodeDetail(failed.id)!.critiques[0]!.verdict).toBe("repairable");
    } finally {
      reader.close();
    }
  });

  it("a row that does not fit its schema is an InfraError naming the run, not a crash elsewhere", () => {
    const copy = join(fx.dir, "corrupt.sqlite");
    copyFileSync(fx.dbPath, copy);
    write(copy, (db) => db.prepare('UPDATE trace_runs SET budget = \'{"wallMs": "soon"}\' WHERE id = ?').run(fx.run.runId));
    const reader = openTraceReader(copy);
    try {
      expect(() => reader.queries.getRun(fx.run.runId)).toThrow(InfraError);
      expect(() => reader.queries.getRun(fx.run.runId)).toThrow(/unreadable run r20261123-softcap: budget\.wallMs/);
    } finally {
      reader.close();
    }
  });

  it("opens read-only and never migrates: an older file is read as it is, its bytes unchanged", () => {
    const old = join(fx.dir, "old.sqlite");
    copyFileSync(fx.dbPath, old);
    // A file from before migration 2 (no error_ratio): what a kforge of that time left.
    write(old, (db) => {
      db.exec("ALTER TABLE trace_nodes DROP COLUMN error_ratio");
      db.prepare("DELETE FROM kforge_migrations WHERE component = 'trace' AND version >= 2").run();
      db.pragma("wal_checkpoint(TRUNCATE)");
    });
    const before = readFileSync(old);
    const reader = openTraceReader(old);
    try {
      const nodes = reader.queries.listNodes(fx.run.runId);
      expect(nodes).toHaveLength(29);
      expect(nodes.every((n) => n.errorRatio === null)).toBe(true);
      expect(() => reader.queries.db.prepare("DELETE FROM trace_events").run()).toThrow(/readonly|read-only|query_only/i);
    } finally {
      reader.close();
    }
    expect(readFileSync(old).equals(before)).toBe(true);
  });

  it("says clearly when the file holds no trace", () => {
    const empty = join(fx.dir, "empty.sqlite");
    openDatabase(empty).close();
    expect(() => openTraceReader(empty)).toThrow(/holds no search trace yet/);
    expect(() => openTraceReader(join(fx.dir, "absent.sqlite"))).toThrow(/no kforge database at/);
  });

  it("a compile error's summary is its cause, even where an older kforge stored only the location line", () => {
    const copy = join(fx.dir, "old-summary.sqlite");
    copyFileSync(fx.dbPath, copy);
    write(copy, (db) =>
      db
        .prepare(
          "UPDATE trace_nodes SET summary = 'compile error: triton.compiler.errors.CompilationError: at 31:12:' WHERE status = 'compile_error'",
        )
        .run(),
    );
    const reader = openTraceReader(copy);
    try {
      const errors = reader.queries.listNodes(fx.run.runId).filter((n) => n.status === "compile_error");
      expect(errors.length).toBeGreaterThan(0);
      for (const n of errors)
        expect(n.summary).toMatch(
          /^compile error: AssertionError\('First input shape .* \(CompilationError at 31:12\)$|^compile error: AssertionError\('First input shape .*\.\.\.$/,
        );
    } finally {
      reader.close();
    }
  });

  it("the writer's connection reads through the same queries (what the search's agents use)", () => {
    write(fx.dbPath, (db) => {
      const q = traceQueries(db);
      expect(traceQueries(db)).toBe(q);
      expect(q.getRun(fx.run.runId)!.budget.wallMs).toBe(8 * 3600_000);
    });
  });
});

describe("errorHeadline", () => {
  it("finds the cause after Triton's location, source line and caret", () => {
    const message = FAILURES.compile_error().status === "compile_error" ? (FAILURES.compile_error() as { message: string }).message : "";
    expect(errorHeadline(message)).toMatch(/^AssertionError\('First input shape \(\[64, 128\]\) and second input shape .*\.\.\.$/);
    expect(errorHeadline("triton.compiler.errors.CompilationError: at 3:4:\n  x = y\n      ^\nNameError('y is not defined')")).toBe(
      "NameError('y is not defined') (CompilationError at 3:4)",
    );
  });

  it("keeps a first line that already says what is wrong, without the exception's module path", () => {
    expect(errorHeadline('SyntaxError: invalid syntax (kernel.py, line 6)\n  File "kernel.py", line 6')).toBe(
      "SyntaxError: invalid syntax (kernel.py, line 6)",
    );
    expect(errorHeadline("\n\ntorch._dynamo.exc.BackendCompilerFailed: boom")).toBe("BackendCompilerFailed: boom");
    expect(errorHeadline("x".repeat(500))).toHaveLength(160);
  });
});

describe("run time", () => {
  const beat = 1_000_000;
  it("is the recorded search time, ticking since the last heartbeat only while the run is alive", () => {
    expect(runTime({ status: "done", activeMs: 13_900, heartbeatAt: beat }, beat + 60_000)).toEqual({ ms: 13_900, stale: false });
    expect(runTime({ status: "running", activeMs: 13_900, heartbeatAt: beat }, beat + 2_000)).toEqual({ ms: 15_900, stale: false });
    expect(runTime({ status: "running", activeMs: 13_900, heartbeatAt: beat }, beat + STALE_HEARTBEAT_MS + 1)).toEqual({ ms: 13_900, stale: true });
  });

  it("is written one way: whole seconds rounded down", () => {
    expect([formatRunTime(13_900), formatRunTime(245_999), formatRunTime(3_725_000)]).toEqual(["13s", "4m05s", "1h02m"]);
  });
});
