/**
 * Ctrl-C while the baselines are measured (the first seconds of every search, minutes on a GPU host) is an
 * interrupt like any later one: exit 130, the run marked interrupted with the usual summary and resume hint (not
 * "error (internal)"), no harness process left behind, and `kforge resume` measures the baselines and finishes.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/**
 * cpu_tiny whose reference sleeps a second per call on the benchmark shape (S = 64) only: its baselines take long
 * enough to interrupt, while its correctness checks stay fast.
 */
function slowBaselineProblem(dir: string): string {
  const slow = join(dir, "cpu_slow_baseline");
  cpSync(CPU_TINY, slow, { recursive: true });
  const spec = JSON.parse(readFileSync(join(slow, "problem.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(slow, "problem.json"), JSON.stringify({ ...spec, name: "cpu_slow_baseline" }, null, 2));
  const slowDown = [
    "",
    "import time as _time  # noqa: E402",
    "_fast_reference = reference",
    "",
    "",
    "def reference(q, k, v, **kw):  # noqa: F811",
    "    if q.shape[-2] == 64:",
    "        _time.sleep(1.0)",
    "    return _fast_reference(q, k, v, **kw)",
    "",
  ].join("\n");
  writeFileSync(join(slow, "reference.py"), readFileSync(join(slow, "reference.py"), "utf8") + slowDown);
  return slow;
}

/** Pids of processes whose command line mentions `needle` (the harness runs under the run's temp dir). */
async function processesMentioning(needle: string): Promise<number[]> {
  const { readdirSync, readFileSync } = await import("node:fs");
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("Ctrl-C during the baselines", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let slow: string;
  beforeAll(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["good", "broken"], kernel: cpuKernel, sequential: true }));
    home = mkdtempSync(join(tmpdir(), "kforge-intb-"));
    slow = slowBaselineProblem(mkdtempSync(join(tmpdir(), "kforge-intb-problem-")));
    env = kforgeEnv(home, server.baseUrl);
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(join(slow, ".."), { recursive: true, force: true });
  });

  it("exits 130 with the interrupted summary, leaves the run resumable, and resume finishes it", async () => {
    const proc = startKforge(["search", "--problem", slow, "--max-nodes", "2", "--branching", "2"], env);
    while (!/measuring the baselines once for this run/.test(proc.stdout())) {
      expect(proc.child.exitCode, proc.stdout() + proc.stderr()).toBeNull();
      await sleep(50);
    }
    await sleep(500); // the harness is up and inside the reference's timing
    proc.child.kill("SIGINT");
    expect(await proc.exited, proc.stdout() + proc.stderr()).toBe(130);
    const out = proc.stdout();
    const runId = /^run (\S+)/.exec(out)![1]!;
    expect(out + proc.stderr()).not.toMatch(/error \(internal\)|AbortError/);
    expect(out).toMatch(new RegExp(`interrupted \\(interrupted\\).*\\n(.*\\n)*.*kforge resume ${runId}`));
    expect(await processesMentioning(home)).toEqual([]); // no sandboxed harness outlives the command

    const db = openDatabase(join(home, "kforge.sqlite"), { readonly: true });
    try {
      const store = new TraceStore(db).setup();
      expect(store.getRun(runId)).toMatchObject({ status: "interrupted", stopReason: "interrupted", nodes: 0 });
      expect(store.getBaseline(runId)).toBeNull(); // the cut really came while the baselines were measured
      expect(store.eventsSince(runId).map((e) => e.message)).toContainEqual(expect.stringMatching(/while measuring the baselines/));
    } finally {
      db.close();
    }

    const r = await runKforge(["resume", runId, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ runId, status: "done", stopReason: "budget:nodes", nodes: 2 });
  }, 240_000);
});
