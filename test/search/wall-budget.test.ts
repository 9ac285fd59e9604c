/**
 * The wall budget as a user reads it: time from the command's start, baselines included, split in the
 * summary; `kforge resume RUN --budget` extends a run from the resume; KFORGE_LOG writes the run's log file.
 * Real child processes against the scripted server, on CPU.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

interface Summary {
  runId: string;
  status: string;
  stopReason: string | null;
  elapsedMs: number;
  log: string;
  time: { earlierMs: number; setupMs: number; baselinesMs: number; searchMs: number; budgetMs: number };
}

describe("the wall budget, resume --budget and the run log", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    // Slow replies: the search never runs out of work before the wall budget does.
    server = await startScriptedServer(kernelModel({ fates: ["good"], kernel: cpuKernel, delayMs: 700, sequential: true }));
    home = mkdtempSync(join(tmpdir(), "kforge-wall-"));
    env = kforgeEnv(home, server.baseUrl);
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });
  const readRun = (runId: string) => {
    const db = openDatabase(join(home, "kforge.sqlite"), { readonly: true });
    try {
      const store = new TraceStore(db).setup();
      const run = store.getRun(runId)!;
      return {
        run,
        events: db.prepare("SELECT kind, message FROM trace_events WHERE run_id = ? ORDER BY id").all(runId) as { kind: string; message: string }[],
        budget: (db.prepare("SELECT budget FROM trace_runs WHERE id = ?").get(runId) as { budget: string }).budget,
      };
    } finally {
      db.close();
    }
  };

  it("--budget counts from the command's start, baselines included, and the summary shows the split", async () => {
    const t0 = Date.now();
    // Room for the checks and the baselines (~10 s on a loaded 2-core host): a budget they outlast stops the run there
    // (budget-baselines.test.ts).
    const r = await runKforge(["search", "--problem", CPU_TINY, "--budget", "25s", "--json"], { ...env, KFORGE_LOG: "debug" });
    const wallMs = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s).toMatchObject({ status: "done", stopReason: "budget:wall" });
    expect(s.time.baselinesMs).toBeGreaterThan(0);
    expect(s.time.budgetMs).toBe(25_000);
    expect(s.time.earlierMs).toBe(0);
    // The run's recorded time is the whole command's, not only the graph's.
    expect(s.elapsedMs).toBeGreaterThanOrEqual(s.time.setupMs + s.time.baselinesMs + s.time.searchMs);
    expect(s.elapsedMs).toBeGreaterThanOrEqual(25_000);
    // The recorded time is the command's: what is left of the process's wall time is only Node's start-up and
    // shutdown (before, the baselines were left out of it too). The recorded time ends within budget + grace (5s).
    // (On a loaded 2-core host Node's start and exit alone take seconds: hence the 3s floor.)
    expect(wallMs - s.elapsedMs, JSON.stringify({ wallMs, s })).toBeLessThan(Math.max(s.time.baselinesMs, 3000) + 1500);
    // The recorded time ends within the budget and its grace (5s).
    expect(s.elapsedMs, JSON.stringify(s)).toBeLessThan(25_000 + 5000 + 1000);
    // The log file: where the summary says, at debug level, with the split.
    expect(s.log).toBe(join(home, "logs", `${s.runId}.log`));
    const log = readFileSync(s.log, "utf8");
    expect(log).toMatch(/ INFO {2}kforge search: run /);
    expect(log).toMatch(/ DEBUG model openai-compatible\/scripted-model/);
    expect(log).toMatch(/ INFO {2}done \(budget:wall\).*checks \d+s, baselines \d+s, search \d+s/);
  }, 120_000);

  it("plain output shows the split before the search and in the summary; KFORGE_LOG=warn keeps info out of the log", async () => {
    const r = await runKforge(["search", "--problem", CPU_TINY, "--budget", "20s"], { ...env, KFORGE_LOG: "warn" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wall 20s from the start, baselines included/);
    expect(r.stdout).toMatch(/before the search: checks \d+s, baselines \d+s; \d+s of the budget left/);
    expect(r.stdout).toMatch(/\ntime: \d+s of 20s: checks \d+s, baselines \d+s, search \d+s\n/);
    const logPath = /\nlog: (\S+)\n/.exec(r.stdout)![1]!;
    expect(existsSync(logPath)).toBe(true);
    expect(readFileSync(logPath, "utf8")).not.toMatch(/INFO|DEBUG/);
  }, 120_000);

  it("resume --budget extends an interrupted run from the resume, and records it", async () => {
    const proc = startKforge(["search", "--problem", CPU_TINY, "--budget", "10m"], env);
    while (!/verifying 1\.\d/.test(proc.stdout())) {
      expect(proc.child.exitCode, proc.stdout() + proc.stderr()).toBeNull();
      await sleep(50);
    }
    proc.child.kill("SIGINT");
    expect(await proc.exited, proc.stderr()).toBe(130);
    const runId = /^run (\S+)/.exec(proc.stdout())![1]!;
    const spent = readRun(runId).run.activeMs;
    expect(spent).toBeGreaterThan(0);

    const bad = await runKforge(["resume", runId, "--budget", "soon"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot read the duration "soon"/);
    expect(JSON.parse(readRun(runId).budget)).toMatchObject({ wallMs: 600_000 }); // a failed resume changes nothing

    const r = await runKforge(["resume", runId, "--budget", "4s", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    // 4s from the resume, plus the grace (5s at most) for work in flight at the deadline.
    expect(s.elapsedMs - spent, JSON.stringify(s)).toBeGreaterThanOrEqual(4000);
    expect(s.elapsedMs - spent, JSON.stringify(s)).toBeLessThan(4000 + 5000 + 1000);
    expect(s).toMatchObject({ status: "done", stopReason: "budget:wall" });
    expect(s.time.earlierMs).toBe(spent);
    expect(s.time.budgetMs).toBe(spent + 4000);
    expect(JSON.parse(readRun(runId).budget)).toMatchObject({ wallMs: spent + 4000 });
    const events = readRun(runId).events;
    expect(events.find((e) => e.kind === "budget")?.message).toMatch(/^budget extended on resume: 4s from here, wall 10m00s → \d+s/);
    expect(events.filter((e) => e.kind === "time").map((e) => e.message)).toEqual([
      expect.stringMatching(/^this session: /),
      expect.stringMatching(/^this session: \d+s of \d+s: earlier sessions /),
    ]);
    expect(readFileSync(s.log, "utf8")).toMatch(/kforge resume: run \S+ \(was interrupted\), 4s of \S+ left \(extended by 4s\)/);
  }, 180_000);
});
