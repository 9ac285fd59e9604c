/** A whole search with the offline policy behind the agents' interface: template configs by mutation, rendered kernels, rule critiques. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { createOfflineAgents, configOf } from "../../agents/offline-agents.ts";
import { configKey } from "../../agents/offline/mutate.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
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
});
