/** A whole search with the offline policy behind the agents' interface: template configs by mutation, rendered kernels, rule critiques. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { createOfflineAgents, configOf } from "../../agents/offline-agents.ts";
import { configKey } from "../../agents/offline/mutate.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { InstantVerifier, verdictOf } from "../fakes/instant-verifier.ts";
import type { VerifyRequest } from "../../tools/verifier/types.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { testConfig } from "../verifier/helpers.ts";
import { recordingProgress, tempDb } from "./helpers.ts";
import { DEFAULT_SEARCH_OPTIONS } from "../../graph/deps.ts";

describe("search with the offline policy", () => {
  let t: ReturnType<typeof tempDb>;
  beforeEach(() => (t = tempDb()));
  afterEach(() => t.cleanup());

  it("expands the template by single-change mutations, never repeating a config, and records it like any other node", async () => {
    const problem = loadProblem("softcap");
    const verifier = new InstantVerifier();
    const limits = { wallMs: 300_000, maxNodes: 8 };
    const options = { ...DEFAULT_SEARCH_OPTIONS, branching: 4, seed: 2 };
    const runId = newRunId();
    createRun(t.store, { runId, problem: problem.spec.name, limits, options, config: {} });
    const summary = await driveRun(runId, {
      db: t.db,
      store: t.store,
      problem,
      verifier,
      profiler: null,
      agents: createOfflineAgents(testConfig()),
      memory: null,
      limits,
      options,
      gpu: null,
      progress: recordingProgress(),
      signal: new AbortController().signal,
    });
    expect(summary).toMatchObject({ status: "done", nodes: 8 });
    const nodes = t.store.listNodes(runId).filter((n) => n.parentId);
    expect(nodes.every((n) => n.origin === "offline" && n.hasKernel)).toBe(true);
    const configs = nodes.map((n) => configOf(t.store.getIdea(n.id)));
    expect(configs.every((c) => c !== null)).toBe(true);
    expect(new Set(configs.map((c) => configKey(c!))).size).toBe(nodes.length);
    expect(t.store.getKernel(nodes[0]!.id)).toMatch(/@triton\.jit/);
    expect(nodes[0]!.title).toBe("offline template, default config");
    expect(t.db.prepare("SELECT COUNT(*) AS n FROM trace_llm_calls").get()).toEqual({ n: 0 });
    expect((t.store.getCritique(nodes[0]!.id) as { source: string }).source).toBe("rules");
  }, 120_000);

  it("never proposes a config twice when the root is expanded again, in one process or after a resume", async () => {
    const stop = new AbortController();
    // every kernel fails: each failure is repaired once, and the root (nothing correct yet) is expanded again
    class Failing extends InstantVerifier {
      override async verify(req: VerifyRequest): Promise<VerifyResult> {
        await super.verify(req);
        if (this.sources.length === 6) stop.abort(new Error("stopped mid-run")); // as Ctrl-C would
        return verdictOf("# verdict: runtime_error");
      }
    }
    const problem = loadProblem("softcap");
    const verifier = new Failing();
    const limits = { wallMs: 300_000, maxNodes: 28 };
    const options = { ...DEFAULT_SEARCH_OPTIONS, branching: 4, seed: 2, inflight: 1 };
    const runId = newRunId();
    const drive = (signal: AbortSignal) =>
      driveRun(runId, {
        db: t.db,
        store: t.store,
        problem,
        verifier,
        profiler: null,
        agents: createOfflineAgents(testConfig()), // a fresh policy each time, as a resumed process has
        memory: null,
        limits,
        options,
        gpu: null,
        progress: recordingProgress(),
        signal,
      });
    createRun(t.store, { runId, problem: problem.spec.name, limits, options, config: {} });
    expect(await drive(stop.signal)).toMatchObject({ status: "interrupted" });
    const rootChildren = () =>
      t.store.listNodes(runId).filter((n) => n.parentId === `${runId}.root` || t.store.getNode(n.parentId ?? "")?.status === "root");
    const before = rootChildren().length;
    expect(before).toBeGreaterThan(4); // the root was expanded again in the first process
    expect(await drive(new AbortController().signal)).toMatchObject({ status: "done", nodes: 28 });
    expect(rootChildren().length).toBeGreaterThan(before); // and again after the resume
    const nodes = t.store.listNodes(runId).filter((n) => n.parentId);
    const keys = nodes.map((n) => configKey(configOf(t.store.getIdea(n.id))!));
    expect(new Set(keys).size).toBe(nodes.length);
    expect(new Set(verifier.sources).size).toBe(verifier.sources.length); // nothing verified twice
    expect(nodes.filter((n) => n.title === "offline template, default config")).toHaveLength(1);
  }, 180_000);
});
