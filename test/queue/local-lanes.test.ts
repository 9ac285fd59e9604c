/**
 * With a queue and no remote worker, the search's own lanes serve the queue (an in-process worker over the local
 * pool): the run finishes with every kernel verified once, through Redis.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kforgeEnv, runKforge } from "../search/cli-process.ts";
import { cpuKernel } from "../search/cpu-kernels.ts";
import { kernelModel } from "../search/script.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { RedisServer } from "./redis-server.ts";

let redis: RedisServer;
let model: ScriptedServer;

beforeAll(async () => {
  redis = await RedisServer.start();
  model = await startScriptedServer(kernelModel({ fates: ["good", "broken", "slow"], kernel: cpuKernel, delayMs: 50 }));
});
afterAll(async () => {
  await model?.close();
  await redis?.down();
});

describe("the search's own lanes on the queue", () => {
  it("verifies through Redis with no remote worker", async () => {
    const home = mkdtempSync(join(tmpdir(), "kforge-local-lanes-"));
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "3", "--branching", "3", "--json"], {
      ...kforgeEnv(home, model.baseUrl),
      KFORGE_QUEUE: redis.url,
    });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { runId: string; status: string; nodes: number };
    expect(summary).toMatchObject({ status: "done", nodes: 3 });
    const db = openDatabase(join(home, "kforge.sqlite"));
    try {
      const n = db.prepare("SELECT node_id, COUNT(*) AS n FROM trace_verifications WHERE run_id = ? GROUP BY node_id").all(summary.runId) as {
        n: number;
      }[];
      expect(n.map((x) => x.n)).toEqual([1, 1, 1]);
    } finally {
      db.close();
    }
    // Every job went through the stream and was acknowledged and removed: nothing is left in it.
    const c = redis.client();
    try {
      const group = (await c.call("XINFO", "GROUPS", "kforge:jobs:cpu")) as unknown[][];
      const read = Number(group[0]?.[group[0].indexOf("entries-read") + 1]);
      expect(read).toBeGreaterThanOrEqual(4); // the baseline and three kernels were read from the stream
      expect(await c.xlen("kforge:jobs:cpu")).toBe(0);
      expect(await c.keys("kforge:results:*")).toEqual([]);
    } finally {
      c.disconnect();
    }
  }, 90_000);
});
