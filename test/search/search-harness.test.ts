/**
 * A whole search end-to-end on the CPU test problem: the scripted OpenAI-compatible server (reasoning
 * in all three forms, streaming, a 500 and a 429 to retry through), the real agents, graph,
 * checkpointer and trace store, and the REAL verifier harness judging good, slow, wrong and broken
 * kernels and replies without code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";
import { startScriptedServer, type RecordedRequest, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { CPU_TINY, testConfig } from "../verifier/helpers.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { searchSetup, tempDb } from "./helpers.ts";

const problem = loadProblem(CPU_TINY);
const FATES = ["good", "slow", "wrong", "broken", "no_code", "no_code_ever"];

describe("search through the real harness (CPU)", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeAll(async () => {
    const model = kernelModel({ fates: FATES, kernel: cpuKernel, sequential: true });
    let n = 0;
    // The 3rd request gets a 500 and the 6th a 429 first: the client retries, the search never notices.
    const faults = new Map<number, number>([
      [3, 500],
      [6, 429],
    ]);
    server = await startScriptedServer((req: RecordedRequest) => {
      const status = faults.get(++n);
      return status ? { status, retryAfter: 0 } : model(req);
    });
    t = tempDb();
  });
  afterAll(async () => {
    await server.close();
    t.cleanup();
  });

  it("finds the good kernel, ranks the slow one below it and records the failures as data", async () => {
    const verifier = createVerifierPool(testConfig(), { problem });
    try {
      const limits = { wallMs: 600_000, maxNodes: 8 };
      const setup = searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl: server.baseUrl, limits, options: { branching: 4, seed: 3 } });
      const runId = newRunId();
      createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
      const summary = await driveRun(runId, setup);
      expect(summary).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 8 });

      const nodes = t.store.listNodes(runId).filter((n) => n.parentId);
      const byFate = (fate: string) => nodes.filter((n) => n.title.endsWith(`[${fate}]`));
      for (const fate of FATES) expect(byFate(fate).length, fate).toBeGreaterThan(0);
      for (const n of byFate("good")) expect(n.status, n.title).toBe("ok");
      for (const n of byFate("wrong")) expect(n.status, n.title).toBe("wrong_output");
      for (const n of byFate("broken")) expect(n.status, n.title).toBe("compile_error");
      for (const n of byFate("no_code_ever")) expect(n.status, n.title).toBe("no_kernel");
      for (const n of byFate("no_code")) expect(n.status, n.title).toBe("ok"); // the repair turn produced a kernel
      const good = byFate("good").map((n) => n.speedup!);
      const slow = byFate("slow")
        .filter((n) => n.status === "ok")
        .map((n) => n.speedup!);
      expect(slow.length).toBeGreaterThan(0);
      expect(Math.max(...slow)).toBeLessThan(Math.min(...good));
      expect(nodes.filter((n) => ["coding", "coded", "failed"].includes(n.status))).toEqual([]);

      // The wrong kernel's verifier feedback (shapes, error sizes, location) reached the trace.
      const v = t.store.getVerification(byFate("wrong")[0]!.id)!;
      expect(v.status).toBe("wrong_output");
      if (v.status === "wrong_output") expect(v.checks.some((c) => !c.passed && c.worst)).toBe(true);
      // The faulted calls were retried inside the client and recorded as one call with 2 attempts.
      const calls = t.db.prepare("SELECT attempts, error FROM trace_llm_calls WHERE run_id = ?").all(runId) as {
        attempts: number;
        error: string | null;
      }[];
      expect(calls.filter((c) => c.attempts === 2)).toHaveLength(2);
      expect(calls.filter((c) => c.error !== null)).toEqual([]);
      expect(t.store.getRun(runId)!.bestSpeedup).toBe(Math.max(...nodes.filter((n) => n.status === "ok").map((n) => n.speedup!)));
    } finally {
      await verifier.close();
    }
  }, 600_000);
});
