import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderTree, selectNodes } from "../../cli/trace/tree-text.ts";
import { SCRIPTED_STATUSES } from "../fixtures/trace-fixture.ts";
import { openTraceReader, type TraceReader } from "../../memory/trace-reader.ts";
import type { NodeRow, RunRow } from "../../ui/trace-view.ts";
import { recordedDb } from "./helpers.ts";

describe("terminal tree", () => {
  let fx: ReturnType<typeof recordedDb>;
  let reader: TraceReader;
  let run: RunRow;
  let nodes: NodeRow[];
  beforeAll(() => {
    fx = recordedDb();
    reader = openTraceReader(fx.dbPath);
    run = reader.queries.getRun(fx.run.runId)!;
    nodes = reader.queries.listNodes(run.id);
  });
  afterAll(() => {
    reader.close();
    fx.cleanup();
  });

  it("the recorded run covers every status", () => {
    expect(nodes).toHaveLength(29);
    expect(new Set(nodes.map((n) => n.status))).toEqual(new Set(SCRIPTED_STATUSES));
  });

  it("draws every node once, nested under its parent, with aligned columns", () => {
    const text = renderTree(run, nodes, {}, { color: false, width: 120 });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^run r20261123-softcap {2}softcap {2}done {2}28 nodes, 12 correct {2}best 1\.83x/);
    expect(lines).toHaveLength(1 + 29);
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1);
    const line = (label: string) => lines.find((l) => new RegExp(`[─ ]${label.replace(".", "\\.")}( ★)? `).test(l) || l.startsWith(`${label} `))!;
    expect(line("5.1")).toContain("5.1 ★");
    expect(line("5.1")).toMatch(/128x64, 8 warps, 3 stages\s+ok 1\.83x 309 TFLOP\/s\s+\+21m56s$/);
    // A compile error shows its cause, not the location line Triton starts with.
    expect(line("1.2")).toMatch(/compile error: AssertionError\('First input/);
    expect(line("3.2")).toMatch(/no kernel: the reply had no/);
    expect(line("7.2")).toMatch(/coding/);
    // 5.1 sits under 4.2: its prefix is one level deeper.
    expect(line("5.1").indexOf("5.1")).toBe(line("4.2").indexOf("4.2") + 3);
  });

  it("--correct keeps correct nodes and dims the failed ancestors that connect them", () => {
    const { shown, context } = selectNodes(nodes, { correct: true });
    expect([...shown].every((id) => nodes.find((n) => n.id === id)!.status === "ok")).toBe(true);
    expect(shown.size).toBe(12);
    // 6.1 is correct but its parent 2.2 failed: 2.2 is shown as context.
    expect(context.has(fx.run.ids.get("2.2")!)).toBe(true);
    expect(context.has(fx.run.ids.get("root")!)).toBe(true);
    const text = renderTree(run, nodes, { correct: true }, { color: true });
    expect(text).toContain("\x1b[2m"); // context rows are dimmed
    expect(text).not.toContain("1.4 ");
  });

  it("--best N shows the N fastest correct nodes and the paths to them", () => {
    const text = renderTree(run, nodes, { best: 3 }, { color: false });
    const labels = text
      .split("\n")
      .slice(1)
      .map((l) => /([\d.]+|root)( ★)?\s{2}/.exec(l.replace(/^[│├└─\s]+/, ""))?.[1]);
    expect(labels).toEqual(["root", "1.3", "2.1", "3.1", "4.2", "5.1", "7.3", "5.2"]);
  });

  it("--depth N cuts the tree", () => {
    const text = renderTree(run, nodes, { depth: 1 }, { color: false });
    expect(text.split("\n")).toHaveLength(1 + 5);
    expect(renderTree(run, nodes, { depth: 1, correct: true }, { color: false }).split("\n")).toHaveLength(1 + 3);
  });

  it("says so when nothing matches", () => {
    expect(renderTree(run, nodes, { best: 0 }, { color: false })).toContain("(no node matches the filter)");
  });
});
