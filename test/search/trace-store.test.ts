import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type DB } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";

const phases = { totalMs: 10 };
const ok = (speedup: number): VerifyResult => ({ status: "ok", checks: [], timings: [], speedup, tflops: 100 * speedup, phases });

describe("TraceStore", () => {
  let dir: string;
  let db: DB;
  let store: TraceStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kforge-trace-"));
    db = openDatabase(join(dir, "k.sqlite"));
    store = new TraceStore(db).setup();
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function tree(): void {
    store.createRun({ id: "r1", problem: "softcap", config: { branching: 2 }, budget: { wallMs: 1000 } });
    store.upsertNode({ id: "r1.0", runId: "r1", parentId: null, label: "root", depth: 0, iteration: 0, status: "root", origin: "root" });
    store.recordPlan("r1", "r1.0", 1, { ideas: [{ title: "a" }, { title: "b" }] });
    for (const k of [1, 2]) {
      store.upsertNode({
        id: `r1.1.${k}`,
        runId: "r1",
        parentId: "r1.0",
        label: `1.${k}`,
        depth: 1,
        iteration: 1,
        title: `idea ${k}`,
        idea: `long idea ${k}`,
        status: "coding",
      });
    }
  }

  it("setup is idempotent and records a tree with deduplicated artifacts", () => {
    new TraceStore(db).setup(); // second setup on the same file: no error, no duplicate migration
    tree();
    store.setNodeKernel("r1", "r1.1.1", "def attention(): pass\n");
    store.setNodeKernel("r1", "r1.1.2", "def attention(): pass\n");
    expect((db.prepare("SELECT COUNT(*) AS n FROM trace_artifacts WHERE kind = 'kernel'").get() as { n: number }).n).toBe(1);
    store.recordVerification("r1", "r1.1.1", ok(1.5));
    store.recordVerification("r1", "r1.1.2", { status: "compile_error", message: "SyntaxError: bad\nmore", phases });
    const run = store.getRun("r1")!;
    expect(run).toMatchObject({ status: "running", nodes: 2, correct: 1, bestSpeedup: 1.5, bestNode: "r1.1.1" });
    const nodes = store.listNodes("r1");
    expect(nodes.map((n) => [n.label, n.status])).toEqual([
      ["root", "root"],
      ["1.1", "ok"],
      ["1.2", "compile_error"],
    ]);
    expect(nodes[2]!.summary).toBe("compile error: SyntaxError: bad");
    expect(store.getNode("1.2", "r1")?.id).toBe("r1.1.2");
  });

  it("records LLM calls with texts and adds usage to the run", () => {
    tree();
    store.recordLlmCall({
      runId: "r1",
      nodeId: "r1.1.1",
      role: "coder",
      provider: "p",
      model: "m",
      prompt: "P",
      reasoning: "R",
      response: "A",
      promptTokens: 10,
      completionTokens: 5,
      costUsd: 0.01,
    });
    store.recordLlmCall({ runId: "r1", nodeId: "r1.1.1", role: "coder", provider: "p", model: "m", prompt: "P", error: "timeout" });
    const t = store.runTotals("r1");
    expect(t).toMatchObject({ promptTokens: 10, completionTokens: 5, costUsd: 0.01 });
    const d = store.getNodeDetail("r1.1.1")!;
    expect(d.llmCalls.map((c) => [c.prompt, c.reasoning, c.response, c.error])).toEqual([
      ["P", "R", "A", null],
      ["P", null, null, "timeout"],
    ]);
    expect(d.plan).toEqual({ ideas: [{ title: "a" }, { title: "b" }] });
    expect(d.idea).toBe("long idea 1");
  });

  it("node detail carries the parent's kernel for diffs, critiques, profiles, seeds", () => {
    tree();
    store.setNodeKernel("r1", "r1.1.1", "parent kernel");
    store.upsertNode({ id: "r1.2.1", runId: "r1", parentId: "r1.1.1", label: "2.1", depth: 2, iteration: 2, status: "coding" });
    store.setNodeKernel("r1", "r1.2.1", "child kernel");
    store.recordCritique("r1", "r1.2.1", { verdict: "promising" });
    store.recordProfile("r1", "r1.2.1", { status: "unavailable", costMs: 3 });
    store.setBottlenecks("r1.2.1", { bottlenecks: ["x"] });
    store.recordSeed("r1", "r1.2.1", { winId: "w1", rank: 0, score: 0.9 });
    store.recordSeed("r1", "r1.2.1", { winId: "w1", rank: 0, score: 0.9 }); // a resumed task re-records: ignored
    const d = store.getNodeDetail("r1.2.1")!;
    expect(d.kernel).toBe("child kernel");
    expect(d.parentKernel).toBe("parent kernel");
    expect(d.critiques[0]!.verdict).toBe("promising");
    expect(d.profiles[0]!.bottlenecks).toEqual({ bottlenecks: ["x"] });
    expect(d.seeds).toHaveLength(1);
    expect(store.getNodeDetail("r1.1.1")!.children).toEqual(["r1.2.1"]);
  });

  it("nodesSince returns only changes after the cursor; bestSeries only improvements", () => {
    tree();
    const first = store.nodesSince("r1", 0);
    expect(first.nodes).toHaveLength(3);
    expect(store.nodesSince("r1", first.cursor).nodes).toHaveLength(0);
    store.recordVerification("r1", "r1.1.2", ok(1.2));
    store.recordVerification("r1", "r1.1.1", ok(1.1));
    const next = store.nodesSince("r1", first.cursor);
    expect(next.nodes.map((n) => n.label)).toEqual(["1.2", "1.1"]);
    expect(store.bestSeries("r1").map((p) => p.speedup)).toEqual([1.2]);
  });

  it("a read-only connection reads while a writer writes", () => {
    tree();
    const reader = new TraceStore(openDatabase(join(dir, "k.sqlite"), { readonly: true })).setup();
    expect(reader.listRuns().map((r) => r.id)).toEqual(["r1"]);
    store.recordVerification("r1", "r1.1.1", ok(2));
    expect(reader.getRun("r1")!.bestSpeedup).toBe(2);
    reader.db.close();
  });
});
