/**
 * KernelBench end to end on the CPU lane, real parts only: real kforge processes, the sandboxed harness, a real SQLite
 * file, the scripted OpenAI-compatible server answering with CPU-path ModelNew fixtures. A search reaches a correct
 * kernel; `kforge bench kernelbench` reports correct rate and fast_p; an interrupted bench resumes without redoing
 * finished problems; the offline policy says what this host lacks.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kforgeEnv, runKforge, startKforge } from "../search/cli-process.ts";
import { ROOT } from "../verifier/helpers.ts";
import { kernelBenchModel } from "./kb-model.ts";
import type { BenchReport } from "../../cli/bench/kernelbench-report.ts";
import { BenchStore } from "../../memory/bench-store.ts";
import { openDatabase } from "../../memory/db.ts";

const LEVELS = join(ROOT, "test", "fixtures", "kernelbench");
const RELU = `kernelbench:${join(LEVELS, "level1", "19_ReLU.py")}`;
const SMALL = ["--max-nodes", "2", "--branching", "2"];

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer(kernelBenchModel());
});
afterAll(() => server?.close());

const home = () => mkdtempSync(join(tmpdir(), "kforge-kb-bench-"));
const problemOf = (content: string) => /^# Problem: (\S+)/m.exec(content)?.[1];

describe("kforge search on a KernelBench problem (model path)", () => {
  it("reaches a correct ModelNew; the prompts carry the reference, its inputs and the contract", async () => {
    const before = server.requests.length;
    const r = await runKforge(["search", "--problem", RELU, ...SMALL, "--budget", "2m", "--json"], kforgeEnv(home(), server.baseUrl));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { status: string; correct: number; nodes: number; bestSpeedup: number | null; problem: string };
    expect(summary).toMatchObject({ status: "done", problem: "kb_l1_19_relu", nodes: 2, correct: 1 });
    expect(summary.bestSpeedup).toBeGreaterThan(0);
    const coder = server.requests.slice(before).find((q) => q.role === "coder")!;
    const user = coder.messages.find((m) => m.role === "user")!.content;
    expect(coder.system).toContain("class ModelNew(torch.nn.Module)");
    expect(coder.system).toContain("torch.allclose(out, Model(x), atol=0.01, rtol=0.01)");
    expect(user).toContain("return torch.relu(x)");
    expect(user).toContain("`forward(*get_inputs())`, with get_inputs() as above: returns `[x]` (batch_size = 8, dim = 1000)");
    expect(coder.system).not.toMatch(/def attention/);
  }, 90_000);

  it("without a model, says the offline policy needs torch.compile and Triton, before any run exists", async () => {
    const env = { ...kforgeEnv(home(), server.baseUrl), KFORGE_PROVIDER: "offline" };
    const r = await runKforge(["search", "--problem", RELU, "--budget", "1m"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/offline policy for KernelBench problems starts from the Triton kernels torch\.compile \(Inductor\) generates/);
    expect(r.stderr).toMatch(/torch\.compile \(torch 1\.\d+\S* has none/);
    expect(r.stderr).toMatch(/Triton/);
    expect(r.stdout).not.toMatch(/^run /m);
  }, 60_000);
});

describe("kforge bench kernelbench", () => {
  it("reports correct rate and fast_p per KernelBench's definition, with a row per problem", async () => {
    const r = await runKforge(
      [
        "bench",
        "kernelbench",
        LEVELS,
        "--level",
        "1",
        "--budget-per-problem",
        "2m",
        "--problems",
        "19,23_Row_softmax,kb_l1_94_mean_squared_error",
        ...SMALL,
        "--json",
      ],
      kforgeEnv(home(), server.baseUrl),
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport & { status: string };
    expect(report.rows.map((x) => [x.name, x.correct])).toEqual([
      ["kb_l1_19_relu", true],
      ["kb_l1_23_row_softmax", true],
      ["kb_l1_94_mean_squared_error", false], // only cheats are offered: wrong outputs
    ]);
    expect(report).toMatchObject({ status: "done", level: 1, problems: 3, finished: 3, correct: 2 });
    expect(report.correctRate).toBeCloseTo(2 / 3);
    for (const p of [1, 2]) {
      const fast = report.rows.filter((x) => x.correct && (x.speedupEager ?? 0) > p).length / 3;
      expect(report.fast.eager[`fast_${p}`]).toBe(fast);
    }
    expect(report.rows.filter((x) => x.correct).every((x) => (x.speedupEager ?? 0) > 0)).toBe(true);
    // torch 1.13 has no torch.compile: that baseline is reported missing, with why, never as 0 or as eager
    expect(report.fast.compile).toBeNull();
    expect(report.compileUnavailable).toMatch(/torch\.compile/);
    expect(report.definition).toMatch(/correct AND has speedup > p/);
  }, 120_000);

  it("an interrupted bench resumes with the problems it had not finished, redoing none", async () => {
    const slow = await startScriptedServer(kernelBenchModel({ delayMs: 400 }));
    try {
      const env = kforgeEnv(home(), slow.baseUrl);
      const args = ["bench", "kernelbench", LEVELS, "--level", "1", "--budget-per-problem", "2m", "--problems", "19,23", ...SMALL];
      const k = startKforge(args, env);
      await until(() => /kb_l1_19_relu: correct/.test(k.stdout()) && /kb_l1_23_row_softmax: searching/.test(k.stdout()), 60_000);
      await until(
        () => slow.requests.some((q) => problemOf(q.messages.find((m) => m.role === "user")?.content ?? "") === "kb_l1_23_row_softmax"),
        30_000,
      );
      k.child.kill("SIGINT");
      expect(await k.exited).toBe(130);
      const id = /^bench (\S+)$/m.exec(k.stdout())?.[1];
      expect(k.stdout()).toContain(`kforge bench kernelbench --resume ${id}`);
      expect(k.stdout()).toMatch(/correct 1\/2/);
      const reluRun = /^kb_l1_19_relu\s+yes\s.*\s(\S+)$/m.exec(k.stdout())?.[1];
      const seen = slow.requests.length;

      const r = await runKforge(["bench", "kernelbench", "--resume", id!, "--json"], env);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as BenchReport & { status: string };
      expect(report).toMatchObject({ status: "done", problems: 2, finished: 2, correct: 2 });
      expect(report.rows[0]?.runId).toBe(reluRun);
      // agents' requests only (the endpoint pre-flight names no problem)
      const after = slow.requests
        .slice(seen)
        .map((q) => problemOf(q.messages.find((m) => m.role === "user")?.content ?? ""))
        .filter(Boolean);
      expect(after.length).toBeGreaterThan(0);
      expect(new Set(after)).toEqual(new Set(["kb_l1_23_row_softmax"])); // ReLU was not searched again
      expect(r.stderr).toMatch(/kb_l1_23_row_softmax: resuming run /); // the started search was resumed, not redone
    } finally {
      await slow.close();
    }
  }, 150_000);
});

describe("kforge bench kernelbench refusals", () => {
  const benchesIn = (h: string) => {
    const db = openDatabase(join(h, "kforge.sqlite"));
    try {
      const store = new BenchStore(db).setup();
      return store.find("").map((id) => ({ ...store.get(id)!, problems: store.problems(id) }));
    } finally {
      db.close();
    }
  };

  it("without a model (and no offline policy for KernelBench here), refuses the whole bench before recording anything", async () => {
    const h = home();
    const env = { ...kforgeEnv(h, server.baseUrl), KFORGE_PROVIDER: "offline" };
    const r = await runKforge(["bench", "kernelbench", LEVELS, "--level", "1", "--budget-per-problem", "1m", "--problems", "19,23"], env);
    expect(r.code, r.stdout + r.stderr).toBe(2); // as every configuration error
    expect(r.stderr).toMatch(/offline policy for KernelBench problems starts from the Triton kernels torch\.compile \(Inductor\) generates/);
    expect(r.stderr).toMatch(/hint: configure a model for KernelBench problems/);
    expect(r.stdout).toBe(""); // no bench id, no table, no score
    expect(benchesIn(h)).toEqual([]);

    // resuming a bench on such a host is refused the same way, and leaves the bench as it was
    const db = openDatabase(join(h, "kforge.sqlite"));
    new BenchStore(db)
      .setup()
      .create("kb-test-resume", "kernelbench", { level: 1, budget: "1m", searchFlags: {} }, [{ name: "kb_l1_19_relu", ref: RELU }]);
    db.close();
    const before = benchesIn(h);
    const again = await runKforge(["bench", "kernelbench", "--resume", "kb-test-resume"], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/kb_l1_19_relu: no model is configured/);
    expect(again.stdout).toBe("");
    expect(benchesIn(h)).toEqual(before);
  }, 60_000);

  it("a problem refused mid-bench is 'not run' with its whole reason under the table, and counts as not correct", async () => {
    const h = home();
    const gone = join(h, "a-folder-name-long-enough-that-the-reason-runs-past-the-old-120-character-cut", "level1", "5_Gone_since.py");
    const db = openDatabase(join(h, "kforge.sqlite"));
    new BenchStore(db).setup().create("kb-test-gone", "kernelbench", { level: 1, budget: "2m", searchFlags: { "max-nodes": "2", branching: "2" } }, [
      { name: "kb_l1_19_relu", ref: RELU },
      { name: "kb_l1_5_gone_since", ref: `kernelbench:${gone}` },
    ]);
    db.close();
    const r = await runKforge(["bench", "kernelbench", "--resume", "kb-test-gone"], kforgeEnv(h, server.baseUrl));
    expect(r.code, r.stderr).toBe(0);
    const reason = `${gone}: no such KernelBench problem file`;
    expect(r.stdout).toContain(`kb_l1_5_gone_since: not run (${reason}`);
    const table = r.stdout.slice(r.stdout.indexOf("problem "));
    expect(table).toMatch(/^kb_l1_5_gone_since\s+no\s+-\s+-\s+0\/0\s+-\s+\(not run, see below\)$/m);
    expect(table).toContain(`\nkb_l1_5_gone_since (not run): ${reason}\n    point at a file of your KernelBench checkout`);
    expect(table).toMatch(/^correct 1\/2 \(50\.0%\)$/m); // KernelBench's fast_p divides by every problem
    const json = await runKforge(["bench", "kernelbench", "--resume", "kb-test-gone", "--json"], kforgeEnv(h, server.baseUrl));
    const report = JSON.parse(json.stdout) as BenchReport;
    expect(report).toMatchObject({ problems: 2, finished: 2, correct: 1 });
    expect(report.rows[1]).toMatchObject({ name: "kb_l1_5_gone_since", runStatus: "refused", correct: false, runId: null });
    expect(report.rows[1]?.error).toContain(reason);
  }, 120_000);
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}
