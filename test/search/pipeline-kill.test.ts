/**
 * kill -9 of a real `kforge search` while several expansions are in flight (real harness on the CPU
 * test problem, scripted model with slow replies), then `kforge resume`, again and again: the run
 * ends exactly at its node budget with every node once, no kernel verified or critiqued twice, and
 * the resumed session's JSON summary reports its lanes.
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
import { kforgeEnv, startKforge } from "./cli-process.ts";

const MAX_NODES = 12;
const KILLS = 2;

describe("kill -9 with several expansions in flight", () => {
  let server: ScriptedServer;
  let home: string;
  beforeAll(async () => {
    server = await startScriptedServer(
      kernelModel({ fates: ["good", "broken", "good", "wrong", "slow"], kernel: cpuKernel, delayMs: 250, sequential: true }),
    );
    home = mkdtempSync(join(tmpdir(), "kforge-pipeline-kill-"));
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("resumes exactly: no node lost, none verified or critiqued twice", async () => {
    const env = kforgeEnv(home, server.baseUrl);
    const dbPath = join(home, "kforge.sqlite");
    const read = <T>(f: (store: TraceStore) => T): T => {
      const db = openDatabase(dbPath, { readonly: true });
      try {
        return f(new TraceStore(db).setup());
      } finally {
        db.close();
      }
    };
    // Candidates of at least two expansions not finished yet: the moment to kill.
    const midPipeline = (runId: string) =>
      read(
        (s) =>
          new Set(
            s
              .listNodes(runId)
              .filter((n) => n.status === "coding" || n.status === "coded")
              .map((n) => n.iteration),
          ).size >= 2,
      );

    let proc = startKforge(
      ["search", "--problem", CPU_TINY, "--max-nodes", String(MAX_NODES), "--branching", "3", "--inflight", "3", "--quiet"],
      env,
    );
    let runId: string | undefined;
    for (let i = 0; i < 600 && !runId; i++) {
      runId = /^run (\S+)/m.exec(proc.stdout())?.[1];
      if (!runId) await sleep(50);
    }
    expect(runId, proc.stderr()).toBeDefined();
    let kills = 0;
    let seenMid = 0;
    for (;;) {
      const started = proc;
      const watch = (async () => {
        for (;;) {
          if (midPipeline(runId!)) return "mid" as const;
          await sleep(40);
        }
      })();
      const outcome = kills < KILLS ? await Promise.race([started.exited, watch]) : await started.exited;
      if (outcome === "mid") {
        seenMid++;
        started.child.kill("SIGKILL");
        await started.exited;
        kills++;
      } else {
        expect(outcome, started.stderr()).toBe(0);
        break;
      }
      proc = startKforge(["resume", runId!, "--json"], env);
    }
    expect(seenMid, "the run never had two expansions in flight at once").toBe(KILLS);

    const summary = JSON.parse(proc.stdout()) as {
      status: string;
      nodes: number;
      pipeline?: { lanes: number; utilisation: number; peakInflight: number };
    };
    expect(summary).toMatchObject({ status: "done", nodes: MAX_NODES });
    expect(summary.pipeline).toMatchObject({ lanes: 1 });
    expect(summary.pipeline!.utilisation).toBeGreaterThan(0);
    expect(summary.pipeline!.utilisation).toBeLessThanOrEqual(1);

    const db = openDatabase(dbPath);
    try {
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      const store = new TraceStore(db).setup();
      expect(store.getRun(runId!)).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: MAX_NODES });
      const candidates = store.listNodes(runId!).filter((n) => n.parentId);
      const plans = db.prepare("SELECT node_id, iteration, plan FROM trace_plans WHERE run_id = ? ORDER BY iteration").all(runId) as {
        node_id: string;
        iteration: number;
        plan: string;
      }[];
      const expected = plans.flatMap((p) => (JSON.parse(p.plan) as { ideas: unknown[] }).ideas.map((_, k) => `${runId}.${p.iteration}.${k + 1}`));
      expect(candidates.map((n) => n.id).sort()).toEqual(expected.sort());
      expect(plans.map((p) => p.iteration)).toEqual(plans.map((_, i) => i + 1));
      expect(candidates.filter((n) => ["coding", "coded"].includes(n.status))).toEqual([]);
      const count = (table: string, id: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE node_id = ?`).get(id) as { n: number }).n;
      for (const n of candidates) {
        expect(count("trace_verifications", n.id), `${n.label} verifications`).toBe(n.hasKernel ? 1 : 0);
        expect(count("trace_critiques", n.id), `${n.label} critiques`).toBe(1);
      }
      // Each expansion ran on its own checkpoint thread.
      const threads = db.prepare("SELECT COUNT(DISTINCT thread_id) AS n FROM checkpoints WHERE thread_id LIKE ?").get(`${runId}/%`) as { n: number };
      expect(threads.n).toBe(plans.length);
    } finally {
      db.close();
    }
  }, 120_000);
});
