import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kforge, recordedDb } from "./helpers.ts";

describe("kforge trace", () => {
  let fx: ReturnType<typeof recordedDb>;
  let db: string[];
  beforeAll(() => {
    fx = recordedDb();
    db = ["--db", fx.dbPath];
  });
  afterAll(() => fx.cleanup());

  it("draws the tree of a run named by a prefix of its id, or the latest", async () => {
    const a = await kforge(["trace", "r2026", ...db]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain("run r20261123-softcap");
    expect(a.stdout).toContain("5.1 ★");
    const b = await kforge(["trace", ...db, "--best", "1"]);
    expect(b.stdout.trim().split("\n").at(-1)).toMatch(/5\.1 ★\s+128x64, 8 warps, 3 stages\s+ok 1\.83x/);
  });

  it("shows one node in full: plan, prompt, reasoning, kernel, verifier table, profile, critique", async () => {
    const { code, stdout } = await kforge(["trace", fx.run.runId, "--node", "5.1", ...db]);
    expect(code).toBe(0);
    const order = [
      "== plan",
      "== coder: prompt",
      "== coder: reasoning",
      "== coder: response",
      "== kernel",
      "== verifier result",
      "== profile",
      "== critique",
    ].map((h) => stdout.indexOf(h));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(stdout).toContain("parent 4.2");
    expect(stdout).toContain("children: 7.1, 7.2, 7.3, 7.4");
    expect(stdout).toContain("Combine the bigger tile with exp2 softmax");
    expect(stdout).toContain("Wait, the masking must happen after the softcap");
    expect(stdout).toMatch(/num_warps=8, num_stages=3\)/);
    expect(stdout).toMatch(/4x16x4096x128\s+1\.553\s+354\s+2\.557\s+1\.65x/);
    expect(stdout).toMatch(/2x2x257x64\s+0\s+yes/);
    expect(stdout).toContain("latency-bound");
    expect(stdout).toContain("verdict: promising");
  });

  it("names the memory wins that seeded nodes, in the tree and on the node", async () => {
    const tree = await kforge(["trace", fx.run.runId, ...db]);
    expect(tree.stdout).toContain("seeded from memory");
    expect(tree.stdout).toMatch(/#3 {2}in the planner's prompt: shares softcap, tanh \(softcap_causal, 2\.31x\) {2}→ nodes 1\.1, 1\.2/);
    expect(tree.stdout).toMatch(/#5 .*→ nodes 1\.1, 1\.2/);
    const node = await kforge(["trace", fx.run.runId, "--node", "1.1", ...db]);
    expect(node.stdout).toMatch(/== seeded from memory =+\n#3 \(rank 1, relevance 0\.82\): in the planner's prompt/);
    const json = JSON.parse((await kforge(["trace", fx.run.runId, "--json", ...db])).stdout);
    expect(json.seeds.map((s: { winId: string }) => s.winId)).toEqual(["3", "3", "5", "5"]);
    // a node nobody seeded has no such section
    expect((await kforge(["trace", fx.run.runId, "--node", "5.1", ...db])).stdout).not.toContain("seeded from memory");
  });

  it("shows why a node failed, with the failing shapes", async () => {
    const { stdout } = await kforge(["trace", fx.run.runId, "--node", "2.2", ...db]);
    expect(stdout).toMatch(/2x2x257x64\s+0\s+NO\s+4\.10e-1\s+9\.40e-3\s+\[0,1,256,3\] error concentrated/);
    expect(stdout).toContain("(not profiled)");
  });

  it("diffs two kernels", async () => {
    const { code, stdout } = await kforge(["trace", fx.run.runId, "--diff", "4.2", "5.1", ...db]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^--- 4\.2\/kernel\.py\n\+\+\+ 5\.1\/kernel\.py\n@@/);
    expect(stdout).toContain("-                    CAP=cap, D=D, BM=BLOCK_M, BN=BLOCK_N, num_warps=4, num_stages=3)");
    expect(stdout).toContain("+                    CAP=cap, D=D, BM=BLOCK_M, BN=BLOCK_N, num_warps=8, num_stages=3)");
  });

  it("answers --json for the tree, a node and a diff", async () => {
    const tree = JSON.parse((await kforge(["trace", fx.run.runId, "--correct", "--json", ...db])).stdout);
    expect(tree.run.id).toBe(fx.run.runId);
    expect(tree.nodes.filter((n: { context: boolean }) => !n.context)).toHaveLength(12);
    const node = JSON.parse((await kforge(["trace", fx.run.runId, "--node", "5.1", "--json", ...db])).stdout);
    expect(node.node.label).toBe("5.1");
    expect(node.kernel).toContain("@triton.jit");
    expect(node.diff).toContain("+++ 5.1/kernel.py");
    expect(node.verifications[0].result.status).toBe("ok");
    const diff = JSON.parse((await kforge(["trace", fx.run.runId, "--diff", "1.1", "1.3", "--json", ...db])).stdout);
    expect(diff.diff).toContain("BLOCK_M = 128");
  });

  it("fails with a user error for unknown runs, nodes, kernel-less nodes and bad numbers", async () => {
    const cases: [string[], RegExp][] = [
      [["trace", "nope"], /no run "nope"/],
      [["trace", fx.run.runId, "--node", "9.9"], /no node "9\.9"/],
      [["trace", fx.run.runId, "--diff", "3.2", "5.1"], /node 3\.2 has no kernel \(no_kernel\)/],
      [["trace", fx.run.runId, "--diff", "5.1"], /--diff needs two nodes/],
      [["trace", fx.run.runId, "--best", "x"], /--best needs a whole number/],
      [["ui", "--max-streams", "0"], /--max-streams needs a whole number from 1 to 10000, got "0"/],
    ];
    for (const [args, message] of cases) {
      const r = await kforge([...args, ...db]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const missing = await kforge(["trace", "--db", `${fx.dir}/absent.sqlite`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no kforge database at");
  });
});
