/**
 * With no model configured the offline policy writes the search's kernels, and it writes Triton kernels: where the
 * verifier's Python cannot import Triton (a CPU host), `search` and `resume` refuse before a run exists, naming Triton,
 * KFORGE_PYTHON and what to do (configure a model, whose kernels may use PyTorch ops on the CPU lane, or use a GPU host)
 * instead of running every node into "No module named 'triton'" and ending `done`. With Triton importable on the CPU
 * lane the search is not refused. Real child processes, the real sandboxed harness, real SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CPU_TINY, torchPython } from "../verifier/helpers.ts";
import { runKforge } from "./cli-process.ts";
import { failedRun, refusalSetup, runsIn, tritonDir } from "./refusal-helpers.ts";

let t: Awaited<ReturnType<typeof refusalSetup>>;
beforeAll(async () => {
  t = await refusalSetup();
});
afterAll(async () => {
  await t.close();
});
const envWith = (extra: NodeJS.ProcessEnv = {}) => t.envWith(extra);

describe("no model, no Triton: the offline policy is refused before a run exists", () => {
  it("on the CPU lane: names Triton and KFORGE_PYTHON, says to configure a model or use a GPU host; no run", async () => {
    const { home, env } = envWith({ KFORGE_PROVIDER: "offline", PYTHONPATH: tritonDir(t.tmp, false) });
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "2"], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `error (user): no model is configured, so the offline policy would write cpu_tiny's kernels, and it writes Triton kernels: Triton is not importable by the verifier's Python (KFORGE_PYTHON=${torchPython()}: ModuleNotFoundError: No module named 'triton' (hidden by the test)); no run was created`,
    );
    expect(r.stderr).toMatch(
      /hint: configure a model \(DEEPSEEK_API_KEY=\.\.\., or KFORGE_PROVIDER=openai-compatible .*\): on the CPU lane its kernels may use PyTorch ops; or run on a GPU host with Triton/,
    );
    expect(r.stdout).not.toMatch(/^run /m);
    expect(runsIn(home)).toEqual([]);
  }, 120_000);

  it("with Triton importable on the CPU lane, it is not refused: the run is made and searched", async () => {
    const { home, env } = envWith({ KFORGE_PROVIDER: "offline", PYTHONPATH: tritonDir(t.tmp, true) });
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "1", "--branching", "1", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/offline policy would write/);
    expect(JSON.parse(r.stdout)).toMatchObject({ problem: "cpu_tiny", status: "done", nodes: 1 });
    expect(runsIn(home)).toHaveLength(1);
  }, 180_000);

  it("resume of a run made without a model is refused the same way, the run untouched", async () => {
    const { home, env } = envWith({ KFORGE_PROVIDER: "offline", PYTHONPATH: tritonDir(t.tmp, false) });
    const runId = failedRun(home, "cpu_tiny", CPU_TINY, "earlier failure");
    const r = await runKforge(["resume", runId], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the offline policy would write cpu_tiny's kernels, and it writes Triton kernels: Triton is not importable/);
    expect(runsIn(home)).toMatchObject([{ id: runId, status: "failed" }]);
  }, 120_000);
});
