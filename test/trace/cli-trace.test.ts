import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
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
      [["trace", fx.run.runId, "--best", "x"], /--best must be a whole number \(0 or more\), got "x"/],
      [["trace", fx.run.runId, "--depth", "-1"], /--depth must be a whole number \(0 or more\), got "-1"/],
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

describe("kforge runs and kforge trace say why a run failed or stopped", () => {
  let dir: string;
  let dbPath: string;
  // A long error over several lines, with an escape sequence a terminal must never receive.
  const failure =
    "verifier harness died: torch.cuda.OutOfMemoryError: CUDA out of memory.\u001b]0;pwned\u0007 Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)\n" +
    `Traceback (most recent call last):\n${'  File "harness.py", line 12, in run\n'.repeat(8)}`;
  const outage = "no answer from http://127.0.0.1:9/v1/chat/completions for 900 s";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kforge-ended-"));
    dbPath = join(dir, "ended.sqlite");
    const db = openDatabase(dbPath);
    try {
      const store = new TraceStore(db).setup();
      const run = (id: string, now: number) => store.createRun({ id, problem: "softcap", config: {}, budget: { wallMs: 60_000 }, now });
      run("r-failed", 1_000);
      store.setRunStatus("r-failed", "failed", { stopReason: "error", error: failure });
      run("r-stopped", 2_000);
      store.setRunStatus("r-stopped", "stopped", { stopReason: "model endpoint unreachable", error: outage });
      run("r-done", 3_000);
      store.setRunStatus("r-done", "done", { stopReason: "budget:wall" });
    } finally {
      db.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("kforge runs puts the reason, shortened, under a failed or stopped run's line; --json keeps all of it", async () => {
    const r = await kforge(["runs", "--db", dbPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("\u001b");
    const lines = r.stdout.trimEnd().split("\n");
    const under = (id: string) => lines[lines.findIndex((l) => l.startsWith(`${id} `)) + 1];
    expect(under("r-failed")).toMatch(
      /^ {2}reason: verifier harness died: torch\.cuda\.OutOfMemoryError: CUDA out of memory\..*… \(all of it: --json\)$/,
    );
    expect(under("r-failed")!.length).toBeLessThan(200);
    expect(under("r-stopped")).toBe(`  reason: ${outage}`);
    expect(under("r-done")).not.toMatch(/reason/); // the next run's line, or nothing
    expect(lines.filter((l) => l.includes("reason:"))).toHaveLength(2);
    const json = JSON.parse((await kforge(["runs", "--db", dbPath, "--json"])).stdout) as { id: string; error: string | null }[];
    expect(json.find((x) => x.id === "r-failed")?.error).toContain("line 12, in run");
  });

  it("kforge trace RUN shows it under the run's header", async () => {
    const failed = await kforge(["trace", "r-failed", "--db", dbPath]);
    expect(failed.code, failed.stderr).toBe(0);
    expect(failed.stdout).not.toContain("\u001b");
    const [head, reason] = failed.stdout.split("\n");
    expect(head).toMatch(/^run r-failed {2}softcap {2}failed {2}/);
    expect(reason).toMatch(/^ {2}reason: verifier harness died: torch\.cuda\.OutOfMemoryError: .*… \(all of it: --json\)$/);
    const stopped = await kforge(["trace", "r-stopped", "--db", dbPath]);
    expect(stopped.stdout.split("\n").slice(0, 2)).toEqual([
      expect.stringMatching(/^run r-stopped {2}softcap {2}stopped \(model endpoint unreachable\)/),
      `  reason: ${outage}`,
    ]);
    const done = await kforge(["trace", "r-done", "--db", dbPath]);
    expect(done.stdout).not.toContain("reason:");
  });
});
