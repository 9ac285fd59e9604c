/** The profiler on a real GPU with ncu: the verifier's good fixture kernels and a deliberately spilling config. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, repoRoot } from "../../core/config.ts";
import { loadProblem } from "../../problems/load.ts";
import { adviseFromProfile } from "../../tools/profiler/advise.ts";
import { NcuProfiler } from "../../tools/profiler/ncu.ts";

const config = loadConfig();
const profiler = new NcuProfiler(config);
const kernels = join(repoRoot(), "test", "fixtures", "kernels");

describe.skipIf(!config.gpuTests)("profiler on the GPU (KFORGE_GPU_TESTS=1)", () => {
  for (const name of ["softcap", "full", "causal"]) {
    const file = join(kernels, `good_${name}.py`);
    it(`profiles good_${name}.py on its first benchmark shape`, async () => {
      expect(existsSync(file), `the fixture ${file} is missing`).toBe(true);
      const r = await profiler.profile({ problem: loadProblem(name), source: readFileSync(file, "utf8"), candidateId: `gpu-${name}` });
      if (r.status !== "ok") throw new Error(`${r.status}: ${r.reason}`);
      const s = r.summary;
      expect(s.durationUs).toBeGreaterThan(0);
      expect(s.metrics["tensorPipePct"]).toBeGreaterThan(5);
      expect(s.metrics["registersPerThread"]).toBeGreaterThan(0);
      expect(s.compile?.registers).toBe(s.metrics["registersPerThread"]);
      expect(s.stalls.length).toBeGreaterThan(3);
      expect(s.evidence.length).toBeGreaterThan(3);
      expect(r.costMs).toBeGreaterThan(0);
      process.stdout.write(
        `${name}: ${s.bound}, ${s.durationUs?.toFixed(0)} us, ${r.costMs} ms; ${s.evidence[0]}; advice: ${adviseFromProfile(s)
          .map((a) => a.rule)
          .join(", ")}\n`,
      );
    });
  }

  it("sees the spills of a 128x128-tile, 4-warp config and advises on them first", async () => {
    const source = readFileSync(join(repoRoot(), "bench", "profiler", "attn_kernel.py"), "utf8").replace(
      /^attention = make_attention\(\)$/m,
      "attention = make_attention(BLOCK_M=128, BLOCK_N=128, num_warps=4, num_stages=2)",
    );
    const r = await profiler.profile({ problem: loadProblem("softcap"), source, candidateId: "gpu-spill" });
    if (r.status !== "ok") throw new Error(`${r.status}: ${r.reason}`);
    expect(r.summary.metrics["localSpillBytes"]).toBeGreaterThan(0);
    expect(adviseFromProfile(r.summary)[0]?.rule).toBe("spills");
  });
});
