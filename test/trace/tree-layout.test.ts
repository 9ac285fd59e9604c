import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { treeBatch } from "../../ui/trace-view.ts";
import { openTraceReader, type TraceReader } from "../../memory/trace-reader.ts";
import type { CompactNode } from "../../ui/trace-view.ts";
import { COLUMN_WIDTH, ROW_HEIGHT, hitTest, layoutTree } from "../../ui/client/tree-layout.ts";
import { AUTO_COLLAPSE_AT, TreeModel, VISIBLE_BUDGET } from "../../ui/client/tree-model.ts";
import { recordedDb } from "./helpers.ts";

describe("tree model and layout (the page's, run in Node)", () => {
  let fx: ReturnType<typeof recordedDb>;
  let reader: TraceReader;
  let small: CompactNode[];
  let large: CompactNode[];
  beforeAll(() => {
    fx = recordedDb({ large: true });
    reader = openTraceReader(fx.dbPath);
    small = treeBatch(reader.queries, fx.run.runId, 0).nodes;
    large = treeBatch(reader.queries, fx.large!.runId, 0).nodes;
  });
  afterAll(() => {
    reader.close();
    fx.cleanup();
  });

  it("places parents centred on their children, one column per depth, leaves one row apart", () => {
    const model = new TreeModel();
    model.upsert(small);
    const layout = layoutTree(model);
    expect(layout.placed).toHaveLength(29);
    for (const p of layout.placed) {
      expect(p.x).toBe(p.node.depth * COLUMN_WIDTH);
      const kids = p.node.children.map((c) => layout.byId.get(c)!);
      if (kids.length) expect(p.y).toBe((kids[0]!.y + kids.at(-1)!.y) / 2);
    }
    const leaves = layout.placed
      .filter((p) => !p.node.children.length)
      .map((p) => p.y)
      .sort((a, b) => a - b);
    leaves.forEach((y, i) => {
      expect(y).toBe(i * ROW_HEIGHT);
    });
    const best = layout.byId.get(`${fx.run.runId}.5.1`)!;
    expect(hitTest(layout, best.x + 30, best.y + 3)?.node.label).toBe("5.1");
    expect(hitTest(layout, best.x + 30, best.y + ROW_HEIGHT * 0.6)?.node.label).not.toBe("5.1");
  });

  it("accepts children before their parents and status updates in later batches", () => {
    const model = new TreeModel();
    model.upsert([...small].reverse());
    expect(model.roots).toEqual([`${fx.run.runId}.0`]);
    expect(model.nodes.get(`${fx.run.runId}.5.1`)!.depth).toBe(5);
    const pending = small.find((n) => n[3] === "coded")!;
    const added = model.upsert([[pending[0], pending[1], pending[2], "ok", 2.05, pending[5], pending[6], "correct, 2.05x"]]);
    expect(added).toEqual([]);
    expect(model.best()!.label).toBe("7.1");
  });

  it("collapses, reveals and toggles subtrees", () => {
    const model = new TreeModel();
    model.upsert(small);
    const n13 = `${fx.run.runId}.1.3`;
    model.toggle(n13);
    const layout = layoutTree(model);
    expect(layout.byId.get(n13)!.hidden).toBe(model.descendants(n13));
    expect(layout.placed).toHaveLength(29 - model.descendants(n13));
    expect(model.isVisible(`${fx.run.runId}.5.1`)).toBe(false);
    model.reveal(`${fx.run.runId}.5.1`);
    expect(model.isVisible(`${fx.run.runId}.5.1`)).toBe(true);
  });

  it("opens a 1,000-node tree collapsed to the paths of the best nodes, laid out in milliseconds", () => {
    expect(large.length).toBe(1000);
    const model = new TreeModel();
    model.upsert(large);
    model.autoCollapse();
    const t0 = performance.now();
    const layout = layoutTree(model);
    const ms = performance.now() - t0;
    expect(model.nodes.size).toBeGreaterThan(AUTO_COLLAPSE_AT);
    expect(layout.placed.length).toBeLessThan(VISIBLE_BUDGET + 60);
    const best = model.best()!;
    expect(model.pathTo(best.id).every((id) => layout.byId.has(id))).toBe(true);
    const hidden = layout.placed.reduce((s, p) => s + p.hidden, 0);
    expect(layout.placed.length + hidden).toBe(1000);
    model.expandAll();
    const t1 = performance.now();
    const all = layoutTree(model);
    expect(all.placed).toHaveLength(1000);
    expect(Math.max(ms, performance.now() - t1)).toBeLessThan(100);
    // Nodes of one column never overlap.
    const cols = new Map<number, number[]>();
    for (const p of all.placed) (cols.get(p.x) ?? cols.set(p.x, []).get(p.x)!).push(p.y);
    for (const ys of cols.values()) {
      ys.sort((a, b) => a - b);
      for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeGreaterThanOrEqual(ROW_HEIGHT);
    }
  });

  it("sends a 1,000-node tree in a small compact payload", () => {
    const bytes = JSON.stringify(treeBatch(reader.queries, fx.large!.runId, 0)).length;
    expect(bytes).toBeLessThan(250_000);
  });
});
