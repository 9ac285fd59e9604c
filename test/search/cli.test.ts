/** `kforge search`, `kforge resume` and `kforge runs` as real child processes: output modes, Ctrl-C, resume, errors. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge, startKforge } from "./cli-process.ts";

describe("kforge search / resume / runs", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["good", "broken", "slow"], kernel: cpuKernel, delayMs: 200, sequential: true }));
    home = mkdtempSync(join(tmpdir(), "kforge-cli-"));
    env = kforgeEnv(home, server.baseUrl);
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("--json prints the run id on stderr first and one summary document on stdout; runs lists it; a done run is not resumed", async () => {
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "3", "--branching", "3", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const runId = /^run (\S+)/.exec(r.stderr)?.[1];
    expect(runId).toBeDefined();
    const summary = JSON.parse(r.stdout) as { runId: string; status: string; nodes: number; correct: number; bestSpeedup: number | null };
    expect(summary).toMatchObject({ runId, status: "done", nodes: 3, correct: 2 });
    expect(summary.bestSpeedup).toBeGreaterThan(0);

    const runs = await runKforge(["runs"], env);
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s+cpu_tiny\\s+done \\(budget:nodes\\)`));
    const again = await runKforge(["resume", runId!.slice(0, 17)], env); // a unique prefix works
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already done/);
  }, 300_000);

  it("Ctrl-C drains: the run is marked interrupted, exits 130, and `kforge resume` finishes it", async () => {
    const proc = startKforge(["search", "--problem", CPU_TINY, "--max-nodes", "6", "--branching", "3"], env);
    // Plain log lines (stdout is not a terminal); interrupt once the first candidates are being verified.
    while (!/verifying 1\.\d/.test(proc.stdout())) {
      expect(proc.child.exitCode, proc.stderr()).toBeNull();
      await sleep(50);
    }
    proc.child.kill("SIGINT");
    expect(await proc.exited, proc.stderr()).toBe(130);
    const out = proc.stdout();
    const runId = /^run (\S+)/.exec(out)![1]!;
    expect(out).toMatch(/iteration 1: expanding root/);
    expect(out).toMatch(new RegExp(`interrupted \\(interrupted\\).*\\n.*kforge resume ${runId}`));
    const db = openDatabase(join(home, "kforge.sqlite"), { readonly: true });
    try {
      expect(new TraceStore(db).setup().getRun(runId)!.status).toBe("interrupted");
    } finally {
      db.close();
    }
    const resumed = await runKforge(["resume", runId, "--quiet"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^run \S+\ndone \(budget:nodes\): 6 nodes/);
  }, 300_000);

  it("bad flags are the user's error, with a hint", async () => {
    const noProblem = await runKforge(["search"], env);
    expect(noProblem.code).toBe(2);
    expect(noProblem.stderr).toMatch(/needs --problem/);
    const badBudget = await runKforge(["search", "--problem", CPU_TINY, "--budget", "soon"], env);
    expect(badBudget.code).toBe(2);
    expect(badBudget.stderr).toMatch(/cannot read the duration "soon"[\s\S]*hint: use e\.g\. 90s, 15m, 8h/);
    const unknown = await runKforge(["resume", "nope"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run "nope"/);
  }, 120_000);
});
