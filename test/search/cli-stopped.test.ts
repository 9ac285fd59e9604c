/**
 * `kforge search` as a real process when its model endpoint dies mid-run: the run stops early as
 * `stopped (model endpoint unreachable)` with exit code 75, `kforge runs` says so, a resume against
 * the still-dead endpoint is refused by the pre-flight check without touching the run, and once the
 * endpoint is back `kforge resume` finishes it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";

describe("kforge search with an endpoint that dies mid-run", () => {
  let server: ScriptedServer;
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), "kforge-cli-stopped-"));
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("stops with exit 75, is listed as stopped, refuses to resume while down, resumes once back", async () => {
    const model = kernelModel({ fates: ["good", "broken", "slow"], kernel: cpuKernel, sequential: true });
    // The endpoint dies with the first critique's answer: every later request has its connection cut (however
    // fast the machine, and whatever else the pipeline has in flight), and the port closes soon after.
    let dead = false;
    server = await startScriptedServer((req) => {
      if (dead) return { dropConnection: true };
      if (req.role === "critic") {
        dead = true;
        setTimeout(() => void server.close(), 50);
      }
      return model(req);
    });
    const port = server.port;
    const env = { ...kforgeEnv(home, server.baseUrl), KFORGE_BREAKER_FAILURES: "2", KFORGE_BREAKER_PAUSE_S: "0.2", KFORGE_BREAKER_WAIT_S: "1" };

    const search = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "18", "--branching", "3"], env);
    expect(search.code, search.stderr).toBe(75);
    const runId = /^run (\S+)/m.exec(search.stdout)![1]!;
    expect(search.stdout).toMatch(/model calls in a row failed on the endpoint/);
    expect(search.stdout).toMatch(
      new RegExp(`stopped \\(model endpoint unreachable\\): \\d+ nodes[\\s\\S]*resume once the model endpoint is back: kforge resume ${runId}`),
    );

    const runs = await runKforge(["runs"], env);
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s+cpu_tiny\\s+stopped \\(model endpoint unreachable\\)`));

    const trace = await runKforge(["trace", runId], env);
    expect(trace.stdout).toMatch(new RegExp(`^run ${runId}  cpu_tiny  stopped \\(model endpoint unreachable\\)  \\d+ nodes`));

    const early = await runKforge(["resume", runId], env);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/cannot serve the search: no answer .*connection refused/);
    expect((await runKforge(["runs"], env)).stdout).toMatch(new RegExp(`${runId}\\s+cpu_tiny\\s+stopped`));

    server = await startScriptedServer(model, { port });
    const resumed = await runKforge(["resume", runId, "--quiet"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^run \S+\ndone \(budget:nodes\): 18 nodes/);
  }, 300_000);
});
