/**
 * The wall budget holds while the baselines are measured: a problem whose baselines outlast `--budget` stops at the
 * budget (the harness job killed, as Ctrl-C does), the run ends `stopped (budget:wall)` saying the budget was spent
 * on the baselines and how long they had run, and `kforge resume RUN --budget T` measures them again and searches.
 * A plain resume with no time left says so instead of stopping again at once. Real child processes, real SQLite.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";
import { processesMentioning, slowBaselineProblem } from "./slow-baseline.ts";

interface Summary {
  runId: string;
  status: string;
  stopReason: string | null;
  error: string | null;
  nodes: number;
  elapsedMs: number;
  time: { setupMs: number; baselinesMs: number; searchMs: number; budgetMs: number };
}

describe("the wall budget while the baselines are measured", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let problemDir: string;
  beforeAll(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["good"], kernel: cpuKernel, sequential: true }));
    home = mkdtempSync(join(tmpdir(), "kforge-budget-baselines-"));
    problemDir = mkdtempSync(join(tmpdir(), "kforge-budget-baselines-problem-"));
    env = kforgeEnv(home, server.baseUrl);
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(problemDir, { recursive: true, force: true });
  });
  const readRun = (runId: string) => {
    const db = openDatabase(join(home, "kforge.sqlite"), { readonly: true });
    try {
      const store = new TraceStore(db).setup();
      return { run: store.getRun(runId)!, baseline: store.getBaseline(runId), events: store.eventsSince(runId).map((e) => e.message) };
    } finally {
      db.close();
    }
  };

  it("stops at the budget, says the baselines took it, and resume --budget measures them and searches", async () => {
    // 30 s per reference call on the benchmark shape: the baselines cannot finish within a 12 s budget.
    const slow = slowBaselineProblem(problemDir, 30);
    const t0 = Date.now();
    const r = await runKforge(["search", "--problem", slow, "--budget", "12s", "--max-nodes", "1", "--json"], env);
    const wallMs = Date.now() - t0;
    expect(r.code, r.stderr).toBe(75); // stopped: resumable, like an endpoint outage
    const s = JSON.parse(r.stdout) as Summary;
    expect(s).toMatchObject({ status: "stopped", stopReason: "budget:wall", nodes: 0 });
    expect(s.error).toMatch(
      /^the wall budget \(12s\) was spent measuring the baselines: they had taken \d+s and were not finished \(checks \d+s\); nothing was searched$/,
    );
    // Cut at the budget, not when the 30 s reference call would have ended (Node's start and exit on a loaded host: a few s).
    expect(s.elapsedMs, JSON.stringify(s)).toBeGreaterThanOrEqual(12_000);
    expect(s.elapsedMs, JSON.stringify(s)).toBeLessThan(12_000 + 2_000);
    expect(wallMs).toBeLessThan(12_000 + 10_000);
    expect(processesMentioning(home)).toEqual([]); // the baseline job was killed with the command
    const rec = readRun(s.runId);
    expect(rec.run).toMatchObject({ status: "stopped", stopReason: "budget:wall", nodes: 0 });
    expect(rec.baseline).toBeNull();
    expect(rec.events).toContainEqual(expect.stringMatching(/spent measuring the baselines.*kforge resume \S+ --budget 15m/));

    // The plain summary names the way on.
    const plain = await runKforge(["search", "--problem", slow, "--budget", "5s", "--max-nodes", "1"], env);
    expect(plain.code, plain.stderr).toBe(75);
    const plainRun = /^run (\S+)/m.exec(plain.stdout)![1]!;
    expect(plain.stdout).toMatch(/^stopped \(budget:wall\): 0 nodes, 0 correct/m);
    expect(plain.stdout).toMatch(/^error: the wall budget \(5s\) was spent measuring the baselines: they had taken \d+s/m);
    expect(plain.stdout).toContain(`resume it with more time (the baselines are measured again): kforge resume ${plainRun} --budget 15m`);

    // No time left and no baselines: a plain resume says what it would do, and changes nothing.
    const refused = await runKforge(["resume", s.runId], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/has no wall time left \(\d+s of its 12s spent\) and its baselines were never measured/);
    expect(refused.stderr).toContain(`kforge resume ${s.runId} --budget`);
    expect(readRun(s.runId).run).toMatchObject({ status: "stopped", stopReason: "budget:wall" });

    // With more time (and a faster reference: the problem folder is the run's), the baselines are measured and the search runs.
    writeFileSync(join(slow, "reference.py"), readFileSync(join(slow, "reference.py"), "utf8").replace("_time.sleep(30)", "_time.sleep(0)"));
    const resumed = await runKforge(["resume", s.runId, "--budget", "3m", "--json"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /the baselines were never measured \(run stopped: the wall budget \(12s\) was spent measuring the baselines: .*\): measuring them first/,
    );
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runId: s.runId, status: "done", stopReason: "budget:nodes", nodes: 1, correct: 1 });
    expect(readRun(s.runId).baseline).not.toBeNull();
  }, 240_000);
});
