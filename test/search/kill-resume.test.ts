/**
 * Crash-safe resume: `kforge search` as a real child process on the CPU test problem (real harness,
 * scripted model with slow replies), SIGKILLed at seeded random points again and again, each time
 * continued with `kforge resume`. The run must end exactly as budgeted: no node lost, none
 * duplicated, nothing verified or critiqued twice, and the database intact.
 *
 * Kills follow the run's progress, not the clock: a cycle lets the search record one or two units of work (a model
 * call, a plan, a verification, a critique), then kills it at a random moment up to 400 ms later (a model reply takes
 * 300 ms, so most kills land inside a call or a verification). A clock alone let a fast machine, or the pipeline's
 * parallel lanes, finish the run before the tenth kill.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge, seededRandom, startKforge } from "./cli-process.ts";

const KILLS = 10;
const MAX_NODES = 10;
const SEED = 20261124;

describe("kill -9 and resume", () => {
  let server: ScriptedServer;
  let home: string;
  beforeAll(async () => {
    // Replies take 300 ms so kills also land in the middle of model calls.
    server = await startScriptedServer(
      kernelModel({ fates: ["good", "slow", "broken", "wrong", "no_code", "good"], kernel: cpuKernel, delayMs: 300, sequential: true }),
    );
    home = mkdtempSync(join(tmpdir(), "kforge-kill-"));
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it(`survives ${KILLS} SIGKILLs at random points and finishes with every node exactly once`, async () => {
    const env = kforgeEnv(home, server.baseUrl);
    const random = seededRandom(SEED);
    const dbPath = join(home, "kforge.sqlite");
    const drivenBy = (runId: string, pid: number) => {
      const db = openDatabase(dbPath, { readonly: true });
      try {
        const store = new TraceStore(db).setup();
        return store.getRun(runId)!.pid === pid && store.getBaseline(runId) !== null;
      } finally {
        db.close();
      }
    };
    // Units of work the run has recorded so far.
    const work = (runId: string) => {
      const db = openDatabase(dbPath, { readonly: true });
      try {
        return ["trace_llm_calls", "trace_plans", "trace_verifications", "trace_critiques"]
          .map((table) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run_id = ?`).get(runId) as { n: number }).n)
          .reduce((a, b) => a + b, 0);
      } finally {
        db.close();
      }
    };
    const status = (runId: string) => {
      const db = openDatabase(dbPath, { readonly: true });
      try {
        return new TraceStore(db).setup().getRun(runId)!.status;
      } finally {
        db.close();
      }
    };

    let proc = startKforge(["search", "--problem", CPU_TINY, "--max-nodes", String(MAX_NODES), "--branching", "3", "--seed", "5", "--quiet"], env);
    let runId: string | undefined;
    for (let i = 0; i < 600 && !runId; i++) {
      runId = /^run (\S+)/m.exec(proc.stdout())?.[1];
      if (!runId) await sleep(50);
    }
    expect(runId, proc.stderr()).toBeDefined();
    let kills = 0;
    // Kill at a random point KILLS times, resuming after each; then let the last resume finish.
    for (let cycle = 0; cycle < KILLS + 20; cycle++) {
      // Most kills land in the search itself, once this process drives the graph (its pid is on the run and the
      // baseline is measured) and has recorded one or two more units of work. Some land earlier, while Node starts or
      // the baseline is being measured.
      const started = proc;
      const early = random() < 0.25;
      const units = 1 + Math.floor(random() * 2);
      const after = Math.floor(random() * 400);
      const ready = (async () => {
        if (early) {
          while (!/^run /m.test(started.stdout())) await sleep(50);
          return;
        }
        while (!drivenBy(runId!, started.child.pid!)) await sleep(50);
        const from = work(runId!);
        while (work(runId!) < from + units) await sleep(25);
      })();
      const outcome =
        kills < KILLS ? await Promise.race([proc.exited, ready.then(() => sleep(after)).then(() => "timer" as const)]) : await proc.exited;
      if (outcome === "timer") {
        proc.child.kill("SIGKILL");
        await proc.exited;
        kills++;
      } else expect(outcome, proc.stderr()).toBe(0);
      if (status(runId!) === "done") break;
      proc = startKforge(["resume", runId!, "--quiet"], env);
    }
    expect(kills, `the run finished after only ${kills} kills: lengthen it`).toBe(KILLS);

    const db = openDatabase(dbPath);
    try {
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(db.pragma("foreign_key_check")).toEqual([]);
      const store = new TraceStore(db).setup();
      const run = store.getRun(runId!)!;
      expect(run).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: MAX_NODES });
      const nodes = store.listNodes(runId!);
      const candidates = nodes.filter((n) => n.parentId);
      // No node lost: every idea of every plan has its node; no node duplicated: ids follow the plans exactly.
      const plans = db.prepare("SELECT node_id, iteration, plan FROM trace_plans WHERE run_id = ? ORDER BY iteration").all(runId) as {
        node_id: string;
        iteration: number;
        plan: string;
      }[];
      const expected = plans.flatMap((p) =>
        (JSON.parse(p.plan) as { ideas: { title: string }[] }).ideas.map((idea, k) => ({
          id: `${runId}.${p.iteration}.${k + 1}`,
          parent: p.node_id,
          title: idea.title,
        })),
      );
      expect(candidates.map((n) => ({ id: n.id, parent: n.parentId, title: n.title })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        expected.sort((a, b) => a.id.localeCompare(b.id)),
      );
      expect(plans.map((p) => p.iteration)).toEqual(plans.map((_, i) => i + 1));
      // Every node finished; every kernel verified exactly once; every node critiqued exactly once.
      expect(candidates.filter((n) => ["coding", "coded"].includes(n.status))).toEqual([]);
      const count = (table: string, id: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE node_id = ?`).get(id) as { n: number }).n;
      for (const n of candidates) {
        expect(count("trace_verifications", n.id), `${n.label} verifications`).toBe(n.hasKernel ? 1 : 0);
        expect(count("trace_critiques", n.id), `${n.label} critiques`).toBe(1);
      }
      expect(store.eventsSince(runId!).filter((e) => e.kind === "resume").length).toBeGreaterThanOrEqual(KILLS);
    } finally {
      db.close();
    }
    const listed = await runKforge(["runs", "--json"], env);
    expect((JSON.parse(listed.stdout) as { id: string; status: string }[]).find((r) => r.id === runId)?.status).toBe("done");
  }, 900_000);
});
