/** The memory of wins in a search: prior wins seed the prompts (and the trace says which), new wins are remembered as they happen. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { openWinsMemory } from "../../graph/wins-memory.ts";
import { WinsStore } from "../../memory/wins.ts";
import { kernelModel } from "./script.ts";
import { searchSetup, tempDb } from "./helpers.ts";

describe("search with the memory of wins", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["ok 1.4", "compile_error", "ok 0.8", "ok 1.1"], sequential: true }));
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  it("shows related prior wins to the planner and coder, records the seeds, and remembers new wins", async () => {
    const memory = openWinsMemory(t.db);
    const softcap = loadProblem("softcap");
    await memory.remember({
      problem: softcap,
      runId: "earlier",
      nodeId: "earlier.3.1",
      speedup: 1.9,
      tflops: 480,
      gpu: "test GPU",
      source: "# the softcap win\ndef attention(q, k, v, *, scale, cap):\n    return q  # tanh via exp2, BLOCK_N 64\n",
      keyIdeas: ["fast tanh through exp2"],
    });
    const problem = loadProblem("softcap_causal");
    const limits = { wallMs: 60_000, maxNodes: 4 };
    const setup = searchSetup({ db: t.db, store: t.store, problem, verifier: new InstantVerifier(), baseUrl: server.baseUrl, limits, memory });
    const runId = newRunId();
    createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
    await driveRun(runId, setup);

    const planner = server.requests.find((r) => r.role === "planner")!;
    expect(planner.lastUser).toMatch(/Prior win 1: softcap, 1\.90x/);
    expect(planner.lastUser).toContain("fast tanh through exp2");
    const coder = server.requests.find((r) => r.role === "coder")!;
    expect(coder.lastUser).toContain("# the softcap win");

    const child = t.store.listNodes(runId).find((n) => n.parentId)!;
    const seeds = t.store.getNodeDetail(child.id)!.seeds;
    expect(seeds).toHaveLength(1);
    expect(seeds[0]!.rank).toBe(0);
    const wins = new WinsStore(t.db).setup().list({ problem: "softcap_causal" });
    expect(wins.map((w) => w.speedup).sort()).toEqual([1.1, 1.4]); // the wins over the baseline, not the 0.8x
    expect(t.store.eventsSince(runId).filter((e) => e.kind === "remembered")).toHaveLength(2);
  });
});
