/** Whole searches in-process: the scripted model server, the real agents, graph, checkpointer and trace store, an instant verifier. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { kernelModel } from "./script.ts";
import { searchSetup, tempDb } from "./helpers.ts";
import type { Profiler } from "../../tools/profiler/types.ts";

const problem = loadProblem("softcap");
const FATES = ["ok 1.2", "compile_error", "ok 0.7", "wrong_output 1.5", "no_code", "ok 1.6", "rejected", "no_code_ever", "ok 2.1", "timeout"];

describe("search (instant verifier)", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(async () => {
    server = await startScriptedServer(kernelModel({ fates: FATES }));
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  function start(limits: Parameters<typeof searchSetup>[0]["limits"], extra: Partial<Parameters<typeof searchSetup>[0]> = {}) {
    const verifier = new InstantVerifier();
    const setup = searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl: server.baseUrl, limits, ...extra });
    const runId = newRunId();
    createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
    return { runId, setup, verifier };
  }

  it("grows a tree to the node budget, records every call and verifies every kernel once", async () => {
    // Fates handed out in order, so every kind (no_code_ever included) shows up whatever the prompts' wording.
    server.setScript(kernelModel({ fates: FATES, sequential: true }));
    const { runId, setup, verifier } = start({ wallMs: 60_000, maxNodes: 12 }, { options: { branching: 4, seed: 7 } });
    const summary = await driveRun(runId, setup);
    expect(summary).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 12 });
    const nodes = t.store.listNodes(runId);
    expect(nodes).toHaveLength(13);
    const statuses = new Set(nodes.map((n) => n.status));
    expect(statuses).toContain("ok");
    expect([...statuses].filter((s) => !["root", "ok"].includes(s)).length).toBeGreaterThanOrEqual(2); // failures of several kinds
    expect([...statuses].filter((s) => s === "coding" || s === "coded")).toEqual([]);
    // every kernel verified exactly once
    const verified = nodes.filter((n) => n.hasKernel);
    expect(verifier.sources).toHaveLength(verified.length);
    // every node has a critique; the best is the max speedup
    for (const n of nodes.filter((n) => n.parentId)) expect(t.store.getCritique(n.id)).not.toBeNull();
    const best = Math.max(...nodes.filter((n) => n.status === "ok").map((n) => n.speedup!));
    expect(summary.bestSpeedup).toBe(best);
    // model calls recorded with texts, tokens and reasoning in all forms
    const detail = t.store.getNodeDetail(nodes.find((n) => n.status === "ok")!.id)!;
    expect(detail.llmCalls[0]).toMatchObject({ role: "coder", error: null });
    expect(detail.llmCalls[0]!.prompt).toContain("def attention(q, k, v, *, scale: float, **params)");
    expect(detail.llmCalls[0]!.reasoning).toMatch(/Let me think/);
    expect(t.store.getRun(runId)!.promptTokens).toBeGreaterThan(0);
    // a reply without code got a repair turn; a reply that never had code became a recorded no_kernel node
    const noKernel = nodes.find((n) => n.status === "no_kernel");
    expect(noKernel, "the scripted no_code_ever reply must end as a no_kernel node").toBeDefined();
    expect(t.store.getNodeDetail(noKernel!.id)!.llmCalls).toHaveLength(2);
  });

  it("the coder sees the parent's kernel and the verifier's feedback when improving or repairing", async () => {
    const { runId, setup } = start({ wallMs: 60_000, maxNodes: 8 }, { options: { branching: 4, seed: 1 } });
    await driveRun(runId, setup);
    const deep = t.store.listNodes(runId).find((n) => n.depth === 2)!;
    const prompt = t.store.getNodeDetail(deep.id)!.llmCalls[0]!.prompt!;
    const parent = t.store.getNode(deep.parentId!)!;
    expect(prompt).toContain(`### Node ${parent.label}`);
    expect(prompt).toContain("Verifier:");
    expect(prompt).toMatch(/CORRECT|COMPILE ERROR|WRONG OUTPUT|REJECTED|TIMEOUT/);
  });

  it("stops at the target speedup and at the token budget", async () => {
    const a = start({ wallMs: 60_000, targetSpeedup: 1.5, maxNodes: 200 });
    expect((await driveRun(a.runId, a.setup)).stopReason).toBe("target");
    const b = start({ wallMs: 60_000, maxTokens: 1 });
    const s = await driveRun(b.runId, b.setup);
    expect(s.stopReason).toBe("budget:tokens");
    expect(s.nodes).toBe(4); // one expansion, then the check before the next
  });

  it("stops at the money budget (priced model) and at the wall-time budget", async () => {
    const a = start({ wallMs: 60_000, maxCostUsd: 0.0001, maxNodes: 200 }, { model: "deepseek-reasoner" });
    const s = await driveRun(a.runId, a.setup);
    expect(s.stopReason).toBe("budget:cost");
    expect(s.costUsd).toBeGreaterThanOrEqual(0.0001);
    server.setScript(kernelModel({ fates: FATES, delayMs: 150 }));
    const b = start({ wallMs: 1200, maxNodes: 200 });
    const began = Date.now();
    const w = await driveRun(b.runId, b.setup);
    expect(w).toMatchObject({ status: "done", stopReason: "budget:wall" });
    expect(w.nodes).toBeGreaterThan(0);
    expect(Date.now() - began).toBeLessThan(1200 + 5000);
  });

  it("cuts work still in flight when the wall budget's grace is over", async () => {
    server.setScript(kernelModel({ fates: FATES, delayMs: 20_000 }));
    const a = start({ wallMs: 300, maxNodes: 200 });
    const began = Date.now();
    const s = await driveRun(a.runId, a.setup);
    expect(s).toMatchObject({ status: "done", stopReason: "budget:wall", nodes: 0 });
    expect(Date.now() - began).toBeLessThan(300 + 5000 + 3000);
    expect(t.store.eventsSince(a.runId).map((e) => e.kind)).toContain("budget");
  }, 30_000);

  it("a role whose calls keep failing becomes recorded failed nodes with every retry's reason, never a crash", async () => {
    server.setScript((req) => (req.role === "coder" ? { status: 503, errorMessage: "overloaded" } : kernelModel({ fates: FATES })(req)));
    const a = start({ wallMs: 60_000, maxNodes: 8 });
    const s = await driveRun(a.runId, a.setup);
    expect(s).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 8, correct: 0 });
    const nodes = t.store.listNodes(a.runId).filter((n) => n.parentId);
    expect(new Set(nodes.map((n) => n.status))).toEqual(new Set(["failed"]));
    expect(nodes[0]!.summary).toMatch(/coder call failed \(infra\)/);
    const call = t.store.getNodeDetail(nodes[0]!.id)!.llmCalls[0]!;
    expect(call.error).toMatch(/failed 5 attempts/);
    expect(call.retries).toHaveLength(5);
    expect(call.retries[0]).toMatchObject({ attempt: 1, status: 503, errorClass: "HTTP 503" });
    expect(call.retries[0]!.message).toMatch(/overloaded/);
    expect(call.retries[4]!.delayMs).toBeUndefined();
  });

  it("profiles the new best through the injected profiler; without one the trace says why", async () => {
    const calls: string[] = [];
    const profiler: Profiler = {
      profile: async (req) => {
        calls.push(req.candidateId!);
        return { status: "unavailable", reason: "ERR_NVGPUCTRPERM: no permission to read counters", costMs: 1 };
      },
    };
    const a = start({ wallMs: 60_000, maxNodes: 12 }, { profiler });
    await driveRun(a.runId, a.setup);
    expect(calls).toHaveLength(1); // unavailable once: the run stops asking
    expect(t.store.eventsSince(a.runId).filter((e) => e.kind === "profile_unavailable")[0]!.message).toMatch(/ERR_NVGPUCTRPERM/);
    const b = start({ wallMs: 60_000, maxNodes: 8 });
    await driveRun(b.runId, b.setup);
    expect(t.store.eventsSince(b.runId).map((e) => e.kind)).toContain("profile_unavailable");
  });

  it("Ctrl-C marks the run interrupted and a resume finishes it without redoing work", async () => {
    const controller = new AbortController();
    const { runId, setup, verifier } = start({ wallMs: 60_000, maxNodes: 12 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    server.setScript(kernelModel({ fates: FATES, delayMs: 40 }));
    const first = await driveRun(runId, setup);
    expect(first.status).toBe("interrupted");
    const verifiedBefore = verifier.sources.length;
    const again = await driveRun(runId, { ...setup, signal: new AbortController().signal });
    expect(again).toMatchObject({ status: "done", nodes: 12 });
    const withKernel = t.store.listNodes(runId).filter((n) => n.hasKernel).length;
    expect(verifier.sources.length).toBe(withKernel); // nothing verified twice across the interruption
    expect(verifier.sources.length).toBeGreaterThanOrEqual(verifiedBefore);
  });
});
