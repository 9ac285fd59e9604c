/** The tree policy picking several nodes at once for the pipeline: distinct, none in flight, best first, seeded. */
import { describe, expect, it } from "vitest";
import { chooseNode, chooseNodes, DEFAULT_POLICY, type PolicyNode } from "../../graph/policy.ts";

const root: PolicyNode = { id: "r.0", parentId: null, depth: 0, status: "root", speedup: null, errorRatio: null, hasKernel: false, iteration: 0 };
function child(parent: PolicyNode, iteration: number, k: number, status: PolicyNode["status"], extra: Partial<PolicyNode> = {}): PolicyNode {
  const hasKernel = status !== "no_kernel" && status !== "failed" && status !== "coding";
  return {
    id: `r.${iteration}.${k}`,
    parentId: parent.id,
    depth: parent.depth + 1,
    status,
    speedup: null,
    errorRatio: null,
    hasKernel,
    iteration,
    ...extra,
  };
}
const opts = (iteration: number, seed = 0) => ({ ...DEFAULT_POLICY, seed, iteration });

// A tree of two finished expansions: the root's (1.*) and 1.2's (2.*).
const a = child(root, 1, 1, "ok", { speedup: 1.2 });
const b = child(root, 1, 2, "ok", { speedup: 1.9 });
const c = child(root, 1, 3, "compile_error");
const d = child(root, 1, 4, "wrong_output", { errorRatio: 1.5 });
const e = child(b, 2, 1, "ok", { speedup: 1.5 });
const f = child(b, 2, 2, "no_kernel");
const tree = [root, a, b, c, d, e, f];

describe("tree policy, several at once", () => {
  it("picks distinct nodes, best first, the first being the node chooseNode picks", () => {
    const picks = chooseNodes(tree, opts(3), 4);
    expect(picks).toHaveLength(4);
    expect(new Set(picks.map((p) => p.nodeId)).size).toBe(4);
    expect(picks[0]!.nodeId).toBe(chooseNode(tree, opts(3))!.nodeId);
    for (let i = 1; i < picks.length; i++) expect(picks[i]!.score).toBeLessThanOrEqual(picks[i - 1]!.score);
    expect(picks.map((p) => p.nodeId)).not.toContain(f.id); // nothing to repair without a kernel
  });

  it("never picks a node being expanded, nor a child of an expansion still in flight", () => {
    const inFlight = [child(e, 3, 1, "ok", { speedup: 3.0 }), child(e, 3, 2, "coding")];
    const nodes = [...tree, ...inFlight];
    const busy = { nodes: new Set([b.id, e.id]), iterations: new Set([3]) };
    const picks = chooseNodes(nodes, opts(4), 10, busy).map((p) => p.nodeId);
    expect(picks.length).toBeGreaterThan(0);
    for (const id of [b.id, e.id, ...inFlight.map((n) => n.id)]) expect(picks).not.toContain(id);
    // Once that expansion is finished, its correct child (the best kernel so far) comes first.
    expect(chooseNodes(nodes, opts(4), 10, { nodes: new Set(), iterations: new Set() })[0]!.nodeId).toBe(inFlight[0]!.id);
  });

  it("returns fewer when the frontier is small: at the start only the root", () => {
    expect(chooseNodes([root], opts(1), 8).map((p) => p.nodeId)).toEqual([root.id]);
    expect(chooseNodes([root], opts(1), 8, { nodes: new Set([root.id]), iterations: new Set() })).toEqual([]);
    expect(chooseNodes(tree, opts(3), 0)).toEqual([]);
  });

  it("is a pure function of the tree, the seed and the iteration (input order does not matter)", () => {
    const once = chooseNodes(tree, opts(5, 11), 3);
    expect(chooseNodes([...tree].reverse(), opts(5, 11), 3)).toEqual(once);
    expect(chooseNodes(tree, opts(5, 11), 3)).toEqual(once);
  });
});
