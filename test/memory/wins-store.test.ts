import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { ToolError } from "../../core/errors.ts";
import { retrieveWins } from "../../memory/retrieve.ts";
import { kernelHash, WinsStore } from "../../memory/wins.ts";
import { WINS_MIGRATIONS } from "../../memory/wins-migrations.ts";
import { openStore, win } from "./helpers.ts";

describe("WinsStore", () => {
  it("remembers a win with everything the search hands over, and reads it back", () => {
    const { store } = openStore();
    const out = store.remember(win("a", { params: { cap: 30 }, tags: ["softcap"] }));
    expect(out.status).toBe("inserted");
    const w = store.get(out.id)!;
    expect(w).toMatchObject({
      problem: "softcap",
      speedup: 1.5,
      tflops: 300,
      gpu: "NVIDIA H100 80GB HBM3",
      params: { cap: 30 },
      tags: ["softcap"],
      ideas: ["compute tanh in fp32"],
      runId: "run-1",
      nodeId: "node-a",
      kernelHash: kernelHash(win("a").kernelSource),
    });
    expect(w.kernelSource).toContain("# kernel a");
    expect(w.features).toEqual(["softcap"]);
    expect(w.shapes).toEqual([{ B: 4, H: 16, S: 4096, D: 128 }]);
    expect(Date.parse(w.createdAt)).not.toBeNaN();
  });

  it("deduplicates by kernel hash: a slower repeat changes nothing, a faster one replaces the numbers", () => {
    const { store, db } = openStore();
    const first = store.remember(win("k", { speedup: 1.5 }));
    expect(store.remember(win("k", { speedup: 1.2, nodeId: "later" }))).toEqual({ ...first, status: "duplicate" });
    const better = store.remember(win("k", { speedup: 1.9, gpu: "NVIDIA H200", nodeId: "n9", ideas: ["new idea"] }));
    expect(better).toEqual({ ...first, status: "improved" });
    expect(store.count()).toBe(1);
    expect(store.get(first.id)).toMatchObject({ speedup: 1.9, gpu: "NVIDIA H200", nodeId: "n9", ideas: ["compute tanh in fp32", "new idea"] });
    expect(db.prepare("SELECT COUNT(*) AS n FROM win_kernels").get()).toEqual({ n: 1 });
    // The new idea is searchable through the problem's text document.
    expect(store.textSearch('"idea"', 5).map((h) => h.problem)).toEqual(["softcap"]);
  });

  it("learns the critic's ideas for a kernel it already holds, keeping its numbers", () => {
    const { store } = openStore();
    const first = store.remember(win("k", { speedup: 1.5, ideas: ["BLOCK_N 128"] }));
    expect(store.remember(win("k", { speedup: 1.5, ideas: ["BLOCK_N 128", "tanh.approx in the inner loop"] })).status).toBe("duplicate");
    const w = store.get(first.id)!;
    expect(w.ideas).toEqual(["BLOCK_N 128", "tanh.approx in the inner loop"]);
    expect(w.speedup).toBe(1.5);
  });

  it("rejects invalid wins with a zod error instead of storing them", () => {
    const { store } = openStore();
    expect(() => store.remember(win("x", { speedup: -1 }))).toThrow(ZodError);
    expect(() => store.remember(win("x", { speedup: Number.POSITIVE_INFINITY }))).toThrow(ZodError);
    expect(() => store.remember(win("x", { problem: "Bad Name" }))).toThrow(ZodError);
    expect(() => store.remember({ ...win("x"), tags: ["sparkly" as never] })).toThrow(ZodError);
    expect(store.count()).toBe(0);
  });

  it("lists best first per problem, filters by problem, and removes wins with their unshared kernels and text", () => {
    const { store, db } = openStore();
    const a = store.remember(win("a", { speedup: 1.2 })).id;
    const b = store.remember(win("b", { speedup: 1.8 })).id;
    const c = store.remember(win("c", { problem: "alibi", description: "ALiBi", scoreMod: null, ideas: ["per-head slope"] })).id;
    expect(store.list().map((w) => w.id)).toEqual([c, b, a]);
    expect(store.list({ problem: "softcap" }).map((w) => w.id)).toEqual([b, a]);
    expect(store.remove(c)).toBe(true);
    expect(store.remove(c)).toBe(false);
    expect(store.get(c)).toBeUndefined();
    expect(db.prepare("SELECT COUNT(*) AS n FROM win_kernels").get()).toEqual({ n: 2 });
    expect(store.textSearch('"slope"', 5)).toEqual([]);
    expect(retrieveWins(store, { description: "alibi" }).results.map((r) => r.win.id)).not.toContain(c);
  });

  it("records which wins seeded which node, and refuses unknown wins", () => {
    const { store } = openStore();
    const a = store.remember(win("a")).id;
    const b = store.remember(win("b")).id;
    store.recordSeeding("run-7", "root", [b, a]);
    store.recordSeeding("run-7", "n3", [a]);
    expect(store.seedings("run-7", "root").map((s) => [s.winId, s.rank])).toEqual([
      [b, 1],
      [a, 2],
    ]);
    expect(store.seedings("run-7").map((s) => s.nodeId)).toEqual(["n3", "root", "root"]);
    expect(() => store.recordSeeding("run-7", "n4", [999])).toThrow(ToolError);
    expect(store.seedings("run-7", "n4")).toEqual([]);
    // The record outlives the win it names.
    store.remove(a);
    expect(store.seedings("run-7", "n3")[0]).toMatchObject({ winId: a, kernelHash: kernelHash(win("a").kernelSource) });
  });

  it("setup is idempotent across connections", () => {
    const { path, db } = openStore();
    new WinsStore(db).setup().setup();
    const again = openStore(path);
    expect(again.db.prepare("SELECT COUNT(*) AS n FROM kforge_migrations WHERE component = 'wins'").get()).toEqual({ n: WINS_MIGRATIONS.length });
  });

  it("keeps the feature-group summary equal to a fresh GROUP BY through inserts, improvements, removals and reindex", () => {
    const { store, db } = openStore();
    const groups = () => db.prepare("SELECT features, gpu, n, best FROM win_groups ORDER BY features, gpu").all();
    const truth = () =>
      db.prepare("SELECT features, gpu, COUNT(*) AS n, MAX(speedup) AS best FROM wins GROUP BY features, gpu ORDER BY features, gpu").all();
    const a = store.remember(win("a", { speedup: 1.2 })).id;
    store.remember(win("b", { speedup: 1.7 }));
    store.remember(win("c", { speedup: 1.4, gpu: "NVIDIA H200" }));
    store.remember(win("d", { problem: "causal", scoreMod: null, maskMod: "def mask_mod(b, h, q_idx, kv_idx):\n    return q_idx >= kv_idx\n" }));
    expect(groups()).toEqual(truth());
    store.remember(win("a", { speedup: 2.5, gpu: "NVIDIA H200" })); // improved: moves to another GPU group
    expect(groups()).toEqual(truth());
    store.remove(a);
    expect(groups()).toEqual(truth());
    db.exec("UPDATE wins SET features = ''");
    store.reindex();
    expect(groups()).toEqual(truth());
    expect(groups()).toHaveLength(3);
  });
});
