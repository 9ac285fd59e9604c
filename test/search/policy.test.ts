import { describe, expect, it } from "vitest";
import { chooseNode, DEFAULT_POLICY, jitter, type PolicyNode } from "../../graph/policy.ts";

const root: PolicyNode = { id: "r.0", parentId: null, depth: 0, status: "root", speedup: null, errorRatio: null, hasKernel: false, iteration: 0 };
let seq = 0;
function child(parent: PolicyNode, iteration: number, status: PolicyNode["status"], extra: Partial<PolicyNode> = {}): PolicyNode {
  return {
    id: `r.${iteration}.${++seq}`,
    parentId: parent.id,
    depth: parent.depth + 1,
    status,
    speedup: null,
    errorRatio: null,
    hasKernel: status !== "no_kernel" && status !== "failed",
    iteration,
    ...extra,
  };
}
const opts = (iteration: number, seed = 0) => ({ ...DEFAULT_POLICY, seed, iteration });

describe("tree policy", () => {
  it("starts fresh from the root", () => {
    expect(chooseNode([root], opts(1))).toMatchObject({ nodeId: "r.0", mode: "fresh" });
  });

  it("expands the best correct kernel first", () => {
    const a = child(root, 1, "ok", { speedup: 1.1 });
    const b = child(root, 1, "ok", { speedup: 1.8 });
    const c = child(root, 1, "compile_error");
    expect(chooseNode([root, a, b, c], opts(2))).toMatchObject({ nodeId: b.id, mode: "improve" });
  });

  it("the exploration bonus eventually moves on from a much-expanded best to a close second", () => {
    const a = child(root, 1, "ok", { speedup: 1.7 });
    const b = child(root, 1, "ok", { speedup: 1.8 });
    const tree = [root, a, b];
    // b expanded five times, each giving slower children
    for (let i = 2; i <= 6; i++) tree.push(child(b, i, "ok", { speedup: 0.5 }));
    expect(chooseNode(tree, opts(7))).toMatchObject({ nodeId: a.id, mode: "improve" });
  });

  it("falls back to repairing a near miss while nothing is correct", () => {
    const near = child(root, 1, "wrong_output", { errorRatio: 1.4 });
    const far = child(root, 1, "wrong_output", { errorRatio: 80 });
    const dead = child(root, 1, "no_kernel");
    const cheat = child(root, 1, "rejected");
    expect(chooseNode([root, near, far, dead, cheat], opts(2))).toMatchObject({ nodeId: near.id, mode: "repair" });
  });

  it("repairs a failure once, and abandons long chains of failures", () => {
    const f1 = child(root, 1, "compile_error");
    const f2 = child(f1, 2, "compile_error");
    const f3 = child(f2, 3, "compile_error");
    const choice = chooseNode([root, f1, f2, f3], opts(4));
    // f1 and f2 were already repaired; f3 ends a chain of 3 failures (> maxRepairChain 2): the root again
    expect(choice).toMatchObject({ nodeId: root.id, mode: "fresh" });
  });

  it("never expands nodes without a kernel or beyond the depth limit", () => {
    const nk = child(root, 1, "no_kernel");
    const deep = { ...child(root, 1, "ok", { speedup: 3 }), depth: DEFAULT_POLICY.maxDepth };
    expect(chooseNode([root, nk, deep], opts(2))!.nodeId).toBe(root.id);
  });

  it("is deterministic for a seed and breaks exact ties by the seed", () => {
    const ties = [root, ...Array.from({ length: 6 }, () => child(root, 1, "ok", { speedup: 1.5 }))];
    const picks = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const a = chooseNode(ties, opts(2, seed));
      expect(chooseNode(ties, opts(2, seed))).toEqual(a);
      picks.add(a!.nodeId);
    }
    expect(picks.size).toBeGreaterThan(1);
  });

  it("jitter is uniform-ish in [0, 1)", () => {
    const xs = Array.from({ length: 2000 }, (_, i) => jitter(3, i, "n"));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
