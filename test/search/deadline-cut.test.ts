/**
 * A node whose verification is still running when the wall budget and its grace are spent is cut: the run ends
 * `done (budget:wall)` with that node `coded`, never verified. The summary says so (it is counted, but as not
 * verified), a plain `kforge resume` says how to verify it, and `kforge resume RUN --budget T` reopens the run and
 * verifies it. Real child processes against the scripted server, the real sandboxed verifier, real SQLite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";

/** cpu_tiny's correct kernel, which blocks every call until `untilS` (epoch seconds): slow now, fast after it. */
function blockingKernel(untilS: number): (fate: string, title: string) => string {
  return (fate, title) =>
    cpuKernel(fate, title).replace(
      "def attention(q, k, v, *, scale, cap, **params):\n",
      `import time\n\n_UNTIL = ${untilS}\n\n\ndef attention(q, k, v, *, scale, cap, **params):\n    while time.time() < _UNTIL:\n        time.sleep(0.2)\n`,
    );
}

interface Summary {
  runId: string;
  status: string;
  stopReason: string | null;
  nodes: number;
  correct: number;
  unverified: number;
}

describe("a verification cut at the deadline", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let untilS: number;
  beforeAll(async () => {
    // The kernel blocks for the first 75 s of the test: the search's verification (budget 20s + 5s grace) is cut.
    untilS = Math.ceil(Date.now() / 1000) + 75;
    server = await startScriptedServer(kernelModel({ fates: ["good"], kernel: blockingKernel(untilS), sequential: true }));
    home = mkdtempSync(join(tmpdir(), "kforge-deadline-cut-"));
    env = kforgeEnv(home, server.baseUrl);
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });
  const nodesOf = (runId: string) => {
    const db = openDatabase(join(home, "kforge.sqlite"), { readonly: true });
    try {
      const store = new TraceStore(db).setup();
      return {
        run: store.getRun(runId)!,
        nodes: store.listNodes(runId).filter((n) => n.parentId !== null),
        events: store.eventsSince(runId).map((e) => e.message),
      };
    } finally {
      db.close();
    }
  };

  it("says the cut node was not verified, and resume --budget verifies it", async () => {
    const r = await runKforge(["search", "--problem", CPU_TINY, "--budget", "20s", "--max-nodes", "1", "--branching", "1"], env);
    expect(r.code, r.stderr).toBe(0);
    const runId = /^run (\S+)/m.exec(r.stdout)![1]!;
    expect(Date.now() / 1000, "the search outlasted the blocking kernel: nothing was cut").toBeLessThan(untilS);
    // The summary counts the node, and says it was not verified, with the way to verify it.
    expect(r.stdout).toMatch(/^done \(budget:wall\): 1 nodes \(1 not verified\), 0 correct, no correct kernel/m);
    expect(r.stdout).toContain(`the 1 cut at the deadline: kforge resume ${runId} --budget 5m verifies them`);
    const cut = nodesOf(runId);
    expect(cut.run).toMatchObject({ status: "done", stopReason: "budget:wall", nodes: 1, correct: 0 });
    expect(cut.nodes.map((n) => n.status)).toEqual(["coded"]);
    expect(cut.events).toContainEqual(expect.stringMatching(/^1 node was cut before its verification when the budget ran out; kforge resume/));

    // A plain resume refuses and says what to do; the run is untouched.
    const plain = await runKforge(["resume", runId], env);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/is done \(budget:wall\), with 1 node cut before verification when its budget ran out/);
    expect(plain.stderr).toContain(`kforge resume ${runId} --budget 5m`);
    expect(nodesOf(runId).run).toMatchObject({ status: "done", stopReason: "budget:wall" });

    // With more time the run reopens from its checkpoint and the cut node is verified (the kernel is fast by then).
    const resumed = await runKforge(["resume", runId, "--budget", "3m", "--json"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/verifying the 1 node cut when its budget ran out/);
    const s = JSON.parse(resumed.stdout) as Summary;
    expect(s).toMatchObject({ runId, status: "done", nodes: 1, correct: 1, unverified: 0 });
    const after = nodesOf(runId);
    expect(after.nodes.map((n) => n.status)).toEqual(["ok"]);
    expect(after.events).toContainEqual(expect.stringMatching(/^reopened with more time to verify the 1 node cut when the budget ran out/));
  }, 300_000);
});
