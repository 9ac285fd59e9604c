/** The progress display: a one-screen live frame redrawn in place on a terminal, log lines otherwise. */
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProgress, renderFrame } from "../../cli/search/progress.ts";
import { tempDb } from "./helpers.ts";

class Screen extends Writable {
  text = "";
  rows = 24;
  columns = 80;
  isTTY = true;
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

describe("progress", () => {
  let t: ReturnType<typeof tempDb>;
  const limits = { wallMs: 900_000, maxNodes: 40, maxCostUsd: 5 };
  beforeEach(() => {
    t = tempDb();
    t.store.createRun({ id: "r", problem: "softcap", config: {}, budget: limits });
    t.store.upsertNode({ id: "r.0", runId: "r", parentId: null, label: "root", depth: 0, iteration: 0, status: "root" });
    t.store.upsertNode({ id: "r.1.1", runId: "r", parentId: "r.0", label: "1.1", depth: 1, iteration: 1, status: "coding" });
    t.store.recordVerification("r", "r.1.1", { status: "ok", checks: [], timings: [], speedup: 1.37, tflops: 400, phases: { totalMs: 1 } });
    t.store.recordLlmCall({
      runId: "r",
      nodeId: "r.1.1",
      role: "coder",
      provider: "p",
      model: "m",
      prompt: "x",
      promptTokens: 1500,
      completionTokens: 700,
      costUsd: 0.12,
    });
  });
  afterEach(() => t.cleanup());

  it("a frame shows elapsed vs budget, nodes, correct, best, tokens, cost and what runs now", () => {
    const frame = renderFrame({
      store: t.store,
      runId: "r",
      limits,
      elapsedMs: 125_000,
      running: ["coding 2.1: bigger tiles"],
      recent: ["1.1 correct"],
      width: 120,
    }).join("\n");
    expect(frame).toContain("elapsed 2m05s / 15m00s");
    expect(frame).toContain("nodes 1/40 (correct 1)");
    expect(frame).toContain("best 1.370x (node 1.1)");
    expect(frame).toContain("tokens 2.2k");
    expect(frame).toContain("cost $0.12/$5");
    expect(frame).toContain("coding 2.1: bigger tiles");
  });

  it("a frame shows the lanes busy and idle, the jobs queued and the expansions in flight", () => {
    const lanes = { lanes: 4, busy: 3, queued: 2, jobs: 10, utilisation: 0.874, meanServiceMs: 60_000, meanWaitMs: 1_000, windowMs: 1 };
    const frame = renderFrame({
      store: t.store,
      runId: "r",
      limits,
      elapsedMs: 1,
      running: [],
      recent: [],
      width: 120,
      pipeline: { lanes, expansions: 7, target: 8 },
    }).join("\n");
    expect(frame).toContain("lanes 3 busy / 1 idle (87% so far)   jobs queued 2   expansions 7 in flight (target 8)");
  });

  it("live mode redraws in place (cursor up, clear) and stays within the screen", () => {
    const screen = new Screen();
    screen.rows = 8;
    const p = createProgress("live", { out: screen, store: t.store, runId: "r", limits, elapsedMs: () => 0 });
    p.activity("a", "verifying 1.1");
    p.log("one");
    p.stop();
    p.stop();
    const frames = screen.text.split("\x1b[J");
    expect(frames.length).toBeGreaterThanOrEqual(3);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the cursor-up escape is what the test looks for
    expect(screen.text).toMatch(/\x1b\[\d+A/); // the second frame moved up over the first
    for (const f of frames.slice(0, -1)) expect(f.split("\n").length - 1).toBeLessThanOrEqual(7);
  });

  it("lines mode writes timestamped lines; quiet writes nothing", () => {
    const out = new Screen();
    const lines = createProgress("lines", { out, store: t.store, runId: "r", limits, elapsedMs: () => 61_000 });
    lines.activity("a", "coding 1.1");
    lines.activity("a", null);
    lines.log("1.1: correct");
    expect(out.text).toMatch(/^\[ 1m01s\] coding 1\.1\n\[ 1m01s\] 1\.1: correct\n$/);
    const quiet = new Screen();
    const q = createProgress("quiet", { out: quiet, store: t.store, runId: "r", limits, elapsedMs: () => 0 });
    q.log("x");
    q.stop();
    expect(quiet.text).toBe("");
  });
});
