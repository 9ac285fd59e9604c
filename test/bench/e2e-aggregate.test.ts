/**
 * bench/e2e/aggregate.py over a real trace database written by the TraceStore (so a schema change that
 * breaks the benchmark's numbers fails here, not on the GPU): best kernel per problem, speedups over
 * FlexAttention and cuDNN, time to first correct, the targets' pass/fail, merging two halves.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { repoRoot } from "../../core/config.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";

const python = process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3";
const script = join(repoRoot(), "bench", "e2e", "aggregate.py");
const S1 = { B: 4, H: 16, Hkv: 16, S: 4096, D: 128 };
const S2 = { B: 2, H: 32, Hkv: 32, S: 8192, D: 64 };

function ok(speedups: Record<string, number>[], tflops: number[]): VerifyResult {
  const timings = [S1, S2].map((shape, i) => ({
    shape,
    ms: 1,
    tflops: tflops[i]!,
    runs: 20,
    baselines: Object.fromEntries(Object.keys(speedups[i]!).map((k) => [k, { ms: speedups[i]![k]!, tflops: tflops[i]! / speedups[i]![k]! }])),
    speedup: { ...speedups[i]!, primary: Math.min(...Object.values(speedups[i]!)) },
  }));
  const primary = Math.sqrt(timings[0]!.speedup.primary * timings[1]!.speedup.primary);
  return { status: "ok", checks: [], timings, speedup: primary, tflops: Math.sqrt(tflops[0]! * tflops[1]!), phases: { totalMs: 1 } };
}

let dir: string;
// biome-ignore lint/suspicious/noExplicitAny: JSON a Python script wrote; the test reads it the way the script's consumers do
function collect(name: string, runs: string[][]): { status: number | null; json: Record<string, any>; md: string; stderr: string } {
  const tsv = join(dir, `${name}.tsv`);
  writeFileSync(tsv, runs.map((r) => r.join("\t")).join("\n") + "\n");
  const out = join(dir, name);
  const r = spawnSync(
    python,
    [
      script,
      "collect",
      "--db",
      join(dir, "kforge.sqlite"),
      "--runs",
      tsv,
      "--out",
      out,
      "--machine",
      "NVIDIA H100 80GB HBM3 (test)",
      "--command",
      "bash bench/e2e/run.sh",
      "--budget",
      "35s",
      "--cap",
      "46",
      "--python",
      python,
    ],
    { encoding: "utf8" },
  );
  return {
    status: r.status,
    json: JSON.parse(readFileSync(join(out, "results.json"), "utf8")),
    md: readFileSync(join(out, "results.md"), "utf8"),
    stderr: r.stderr,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kforge-e2e-"));
  const db = openDatabase(join(dir, "kforge.sqlite"));
  const store = new TraceStore(db).setup();
  const t0 = Date.now() - 20_000;
  const node = (run: string, k: number, title: string) => {
    const id = `${run}.1.${k}`;
    store.upsertNode({ id, runId: run, parentId: `${run}.0`, label: `1.${k}`, depth: 1, iteration: 1, title, status: "coded", origin: "offline" });
    return id;
  };
  for (const [run, problem] of [
    ["r-soft", "softcap"],
    ["r-full", "full"],
  ] as const) {
    store.createRun({ id: run, problem, config: {}, budget: { wallMs: 35_000 }, now: t0 });
    store.upsertNode({
      id: `${run}.0`,
      runId: run,
      parentId: null,
      label: "root",
      depth: 0,
      iteration: 0,
      title: problem,
      status: "root",
      origin: "root",
    });
  }
  store.recordVerification("r-soft", node("r-soft", 1, "tiles 64x64"), ok([{ flex: 1.5 }, { flex: 1.7 }], [300, 310]));
  store.recordVerification("r-soft", node("r-soft", 2, "broken"), { status: "compile_error", message: "x", phases: { totalMs: 1 } });
  store.recordVerification("r-soft", node("r-soft", 3, "static max"), ok([{ flex: 2.0 }, { flex: 2.42 }], [430, 330]));
  store.recordVerification(
    "r-full",
    node("r-full", 1, "fa2"),
    ok(
      [
        { flex: 1.1, sdpa_flash: 1.4, sdpa_cudnn: 0.8 },
        { flex: 1.2, sdpa_flash: 1.3, sdpa_cudnn: 0.9 },
      ],
      [520, 480],
    ),
  );
  store.setRunStatus("r-soft", "done", { stopReason: "budget:wall" });
  store.setRunStatus("r-full", "interrupted", { stopReason: "interrupted" });
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench/e2e/aggregate.py", () => {
  it("takes each problem's fastest correct kernel vs FlexAttention, cuDNN where timed, and marks the targets", () => {
    const r = collect("a", [
      ["softcap", "r-soft", "0", "41", ""],
      ["full", "r-full", "124", "46", "stopped at the 46s cap"],
      ["causal", "", "", "0", "skipped: out of time"],
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1); // causal has no kernel: a target is missed
    const [soft, full, causal] = r.json["problems"];
    expect(soft).toMatchObject({ problem: "softcap", nodes: 3, correct: 2, best: { label: "1.3", title: "static max" }, speedup_sdpa_cudnn: null });
    expect(soft.speedup_flex).toBeCloseTo(Math.sqrt(2.0 * 2.42), 6);
    expect(soft.tflops).toBeCloseTo(Math.sqrt(430 * 330), 6);
    expect(soft.first_correct_s).toBeGreaterThan(15);
    expect(full.speedup_sdpa_cudnn).toBeCloseTo(Math.sqrt(0.8 * 0.9), 6);
    expect(full).toMatchObject({ status: "interrupted", exit: 124, note: "stopped at the 46s cap" });
    expect(causal).toMatchObject({ run: null, nodes: 0, speedup_flex: null, note: "skipped: out of time" });
    expect(r.json["targets"].map((t: { pass: boolean }) => t.pass)).toEqual([false, true, false]);
    expect(r.md).toContain("| softcap | 3 | 2 |");
    expect(r.md).toMatch(/\| 2\.20x ✅ \| – \|/);
    expect(r.md).toContain("❌ FAIL: no problem below 1.0x FlexAttention");
    expect(r.md).toContain("machine: NVIDIA H100 80GB HBM3 (test)");
  });

  it("merges two halves into one table and renders the anchors column", () => {
    const a = collect("h1", [["softcap", "r-soft", "0", "41", ""]]);
    const b = collect("h2", [["full", "r-full", "0", "46", ""]]);
    expect(a.status).toBe(0); // softcap alone meets every target
    const merged = spawnSync(python, [script, "merge", join(dir, "h1", "results.json"), join(dir, "h2", "results.json"), "--out", join(dir, "m")], {
      encoding: "utf8",
    });
    expect(merged.status).toBe(0); // together: worst 1.15x, softcap 2.2x, geomean 1.59x
    expect(b.status).toBe(1); // full alone: softcap is not in that half
    const json = JSON.parse(readFileSync(join(dir, "m", "results.json"), "utf8"));
    expect(json.problems.map((p: { problem: string }) => p.problem)).toEqual(["softcap", "full"]);
    expect(b.json["geomean_speedup_flex"]).toBeCloseTo(Math.sqrt(1.1 * 1.2), 6);
    const anchors = join(dir, "anchors.json");
    writeFileSync(anchors, JSON.stringify({ flex_vs_sdpa: [{ shape: [4, 16, 4096, 128], variant: "softcap30", flex_tflops: 214.6 }] }));
    const md = spawnSync(python, [script, "render", join(dir, "m", "results.json"), "--anchors", anchors], { encoding: "utf8" }).stdout;
    expect(md).toContain("Flex TFLOP/s here / anchor");
    expect(md).toContain("215 / 215"); // 430 TFLOP/s at 2.0x → Flex at 215 here, 214.6 in the anchors
  });
});
