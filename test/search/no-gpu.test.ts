/**
 * A CUDA problem on a host whose verifier Python sees no GPU: `search` (of a suite problem or a new `--score-mod`
 * variant) and `resume` refuse before a run exists, and before the variant's folder is made; a variant made by a
 * search that then does not start is removed again, saying so. With a queue (KFORGE_QUEUE) the workers have the GPUs:
 * nothing is refused. `resume` of a run that failed before its baselines says it measures them first. Real child
 * processes, the real sandboxed harness, real SQLite, a real redis-server.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CPU_TINY } from "../verifier/helpers.ts";
import { RedisServer } from "../queue/redis-server.ts";
import { runKforge } from "./cli-process.ts";
import { failedRun, refusalSetup, runsIn } from "./refusal-helpers.ts";

let t: Awaited<ReturnType<typeof refusalSetup>>;
beforeAll(async () => {
  t = await refusalSetup();
});
afterAll(async () => {
  await t.close();
});
const envWith = (extra: NodeJS.ProcessEnv = {}) => t.envWith(extra);

describe("no GPU for a CUDA problem: refused before the run (and before a new variant's folder)", () => {
  const gpuRefusal = (name: string) =>
    new RegExp(
      `error \\(user\\): ${name} runs on a CUDA GPU, and the verifier's Python \\(KFORGE_PYTHON=\\S+, torch [^)]+\\) sees none: no run was created\\n  hint: run on a GPU host .*remote GPU workers \\(KFORGE_QUEUE / --queue`,
    );

  it("search --problem softcap", async () => {
    const { home, env } = envWith();
    const t0 = Date.now();
    const r = await runKforge(["search", "--problem", "softcap", "--budget", "1m"], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(gpuRefusal("softcap"));
    expect(r.stdout).not.toMatch(/^run |measuring the baselines/m);
    expect(runsIn(home)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(60_000); // no baselines waited for
  }, 120_000);

  it("search --score-mod: refused before the variant is made, so nothing is left in KFORGE_HOME/problems", async () => {
    const { home, env } = envWith();
    const mod = join(t.tmp, "softcap_window.py");
    writeFileSync(mod, "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return 30 * torch.tanh(score / 30)\n");
    const r = await runKforge(["search", "--score-mod", mod, "--max-nodes", "1"], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(gpuRefusal("softcap_window"));
    expect(r.stdout).not.toMatch(/new variant|^run /m);
    expect(existsSync(join(home, "problems")) ? readdirSync(join(home, "problems")) : []).toEqual([]);
    expect(runsIn(home)).toEqual([]);
    // Nothing to clear away before trying again with the same name.
    const again = await runKforge(["search", "--score-mod", mod, "--max-nodes", "1"], env);
    expect(again.stderr).not.toMatch(/already exists/);
    expect(again.stderr).toMatch(gpuRefusal("softcap_window"));
  }, 180_000);

  it("search --score-mod whose search does not start after the variant was made removes it again, saying so", async () => {
    // With a queue the GPU check is the workers' (nothing refused here): the variant is made, then the queue is
    // unreachable, so no run starts.
    const { home, env } = envWith({ KFORGE_QUEUE: "redis://127.0.0.1:1" });
    const mod = join(t.tmp, "capped.py");
    writeFileSync(mod, "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return 30 * torch.tanh(score / 30)\n");
    const r = await runKforge(["search", "--score-mod", mod, "--max-nodes", "1"], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const folder = join(home, "problems", "capped");
    expect(r.stdout).toContain(`new variant capped: ${folder}`);
    expect(r.stderr).toContain(`removed the new variant's folder ${folder}: its search did not start`);
    expect(r.stderr).toMatch(/the job queue is not reachable/);
    expect(readdirSync(join(home, "problems")).filter((f) => !f.startsWith("."))).toEqual([]);
    expect(runsIn(home)).toEqual([]);
  }, 120_000);

  it("resume of a CUDA run that failed before its baselines is refused the same way, the run untouched", async () => {
    const { home, env } = envWith();
    const runId = failedRun(home, "softcap", "", "no GPU visible to python3 (torch 1.13)");
    const r = await runKforge(["resume", runId], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(gpuRefusal("softcap"));
    expect(r.stdout).not.toMatch(/resuming/);
    expect(runsIn(home)).toMatchObject([{ id: runId, status: "failed" }]);
  }, 120_000);

  it("with a queue the workers have the GPUs: the run is made (and its budget holds while it waits for a worker)", async () => {
    const redis = await RedisServer.start();
    try {
      const { home, env } = envWith({ KFORGE_QUEUE: redis.url, KFORGE_QUEUE_LOCAL: "0" });
      const r = await runKforge(["search", "--problem", "softcap", "--budget", "8s", "--json"], env);
      expect(r.stderr).not.toMatch(/sees none/);
      expect(r.stderr).toMatch(/^run \S+/m);
      expect(r.code, r.stderr).toBe(75);
      expect(JSON.parse(r.stdout)).toMatchObject({ problem: "softcap", status: "stopped", stopReason: "budget:wall", nodes: 0 });
      expect(runsIn(home)).toHaveLength(1);
    } finally {
      await redis.down();
    }
  }, 120_000);
});

describe("resume of a run that failed before its baselines", () => {
  it("says it measures the baselines first, then searches", async () => {
    const { home, env } = envWith();
    const runId = failedRun(home, "cpu_tiny", CPU_TINY, "the harness died");
    const r = await runKforge(["resume", runId], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^resuming cpu_tiny: \d+m\d+s of 2m00s left; the baselines were never measured \(run failed: the harness died\): measuring them first$/m,
    );
    expect(r.stdout).toMatch(/^done \(budget:nodes\): 1 nodes, 1 correct/m);
  }, 180_000);
});
