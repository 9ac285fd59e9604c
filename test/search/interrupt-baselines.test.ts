/**
 * Ctrl-C while the baselines are measured (the first seconds of every search, minutes on a GPU host) is an
 * interrupt like any later one: exit 130, the run marked interrupted with the usual summary and resume hint (not
 * "error (internal)"), no harness process left behind, and `kforge resume` measures the baselines and finishes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv, runKforge, startKforge } from "./cli-process.ts";
import { processesMentioning, slowBaselineProblem } from "./slow-baseline.ts";

describe("Ctrl-C during the baselines", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let slow: string;
  beforeAll(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["good", "broken"], kernel: cpuKernel, sequential: true }));
    home = mkdtempSync(join(tmpdir(), "kforge-intb-"));
    slow = slowBaselineProblem(mkdtempSync(join(tmpdir(), "kforge-intb-problem-")), 1.0);
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
