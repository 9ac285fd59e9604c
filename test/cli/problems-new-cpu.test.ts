/**
 * `kforge problems new NAME --device cpu` without --shapes makes a problem sized for the CPU lane (the scale of
 * test/fixtures/problems/cpu_tiny), not the GPU benchmark shapes (4x16x4096x128, 2x32x8192x64) that plain PyTorch on a
 * CPU would time for hours; a search of it measures its baselines in seconds. `problems --help` says so. Real child
 * processes, the real sandboxed harness, the scripted model server.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "../search/script.ts";
import { kforgeEnv, runKforge } from "../search/cli-process.ts";

const WINDOW = join(repoRoot(), "test", "fixtures", "variants", "window_only.py");
const fmt = (s: { B: number; H: number; Hkv?: number; S: number; Skv?: number; D: number }) =>
  `${s.B}x${s.H}${s.Hkv ? `/${s.Hkv}` : ""}x${s.S}${s.Skv ? `:${s.Skv}` : ""}x${s.D}`;

describe("problems new --device cpu: shapes for the CPU lane", () => {
  let server: ScriptedServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["ok 1.0"] }));
    home = mkdtempSync(join(tmpdir(), "kforge-new-cpu-"));
    env = kforgeEnv(home, server.baseUrl);
  });
  afterAll(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });
  const shapesOf = (name: string) =>
    (JSON.parse(readFileSync(join(home, "problems", name, "problem.json"), "utf8")) as { shapes: { correctness: never[]; benchmark: never[] } })
      .shapes;

  it("defaults to small shapes on cpu (the GPU ones on cuda), and a search measures its baselines quickly", async () => {
    const help = await runKforge(["problems", "--help"], env);
    expect(help.stdout.replace(/\s+/g, " ")).toContain(
      "Default 4x16x4096x128,2x32x8192x64; with --device cpu small ones for the CPU lane, 1x2x64x16,1x2x128x32",
    );

    const made = await runKforge(["problems", "new", "window_cpu", "--mask-mod", WINDOW, "--device", "cpu"], env);
    expect(made.code, made.stderr).toBe(0);
    const cpu = shapesOf("window_cpu");
    expect(cpu.benchmark.map(fmt)).toEqual(["1x2x64x16", "1x2x128x32"]);
    expect(cpu.correctness.map(fmt)).toEqual(["1x1x1x16", "2x3x17x16", "1x4x37x32", "2x2x65x16", "1x2x128x32"]);

    const gpu = await runKforge(["problems", "new", "window_gpu", "--mask-mod", WINDOW], env);
    expect(gpu.code, gpu.stderr).toBe(0);
    expect(shapesOf("window_gpu").benchmark.map(fmt)).toEqual(["4x16x4096x128", "2x32x8192x64"]);

    // --shapes still wins on cpu.
    const given = await runKforge(["problems", "new", "window_cpu_given", "--mask-mod", WINDOW, "--device", "cpu", "--shapes", "1x1x48x16"], env);
    expect(given.code, given.stderr).toBe(0);
    expect(shapesOf("window_cpu_given").benchmark.map(fmt)).toEqual(["1x1x48x16"]);

    // The CPU lane times the baselines at those shapes in seconds (at the GPU shapes it would not finish in the budget).
    const r = await runKforge(["search", "--problem", "window_cpu", "--max-nodes", "1", "--branching", "1", "--budget", "2m", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { runId: string; status: string; time: { baselinesMs: number } };
    expect(s).toMatchObject({ status: "done", stopReason: "budget:nodes" });
    expect(s.time.baselinesMs).toBeLessThan(60_000);
    const db = openDatabase(join(home, "kforge.sqlite"), { readonly: true });
    try {
      const baseline = new TraceStore(db).setup().getBaseline(s.runId) as { shapes: Record<string, unknown> };
      expect(Object.keys(baseline.shapes).sort()).toEqual(["1x2x2x128x32", "1x2x2x64x16"]);
    } finally {
      db.close();
    }
  }, 300_000);
});
