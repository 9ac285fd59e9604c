import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../core/config.ts";
import { loadProblem } from "../../problems/load.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { ERR_NVGPUCTRPERM } from "../../tools/profiler/ncu-errors.ts";
import { NcuProfiler, NVTX_RANGE, tritonKernelNames } from "../../tools/profiler/ncu.ts";
import { fakeNcu, fixtureSummary } from "./helpers.ts";

const SOURCE = `import triton\nimport triton.language as tl\n\n@triton.autotune(configs=[], key=[])\n@triton.jit\ndef _attn_fwd(Q, K):\n    pass\n\ndef attention(q, k, v, *, scale, **params):\n    return q\n`;
const BASE_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin" };

let problem: LoadedProblem;
beforeAll(() => {
  problem = loadProblem("softcap");
});

function config(ncu: string): Config {
  return loadConfig({ KFORGE_NCU: ncu, KFORGE_PYTHON: "python3", KFORGE_HOME: "/tmp/kforge-profiler-test" });
}

/** A fake ncu that logs its argv, answers --query-metrics and --import from the H100 fixtures, and "profiles" by running `profileStep`. */
function scriptedNcu(profileStep: string): { path: string; log: string } {
  const { path, dir } = fakeNcu(
    (dir) => `
echo "$*" >> ${join(dir, "argv.log")}
case " $* " in
  *" --query-metrics "*) cat ${join(dir, "query_tensor_names.txt")}; exit 0;;
  *" --import "*) cat ${join(dir, "good.raw.csv")}; exit 0;;
esac
while [ $# -gt 0 ]; do case "$1" in --export) rep="$2"; shift;; --result) res="$2"; shift;; esac; shift; done
${profileStep}`,
  );
  return { path, log: join(dir, "argv.log") };
}

const PROFILED = `echo '==PROF== Profiling "_attn_fwd" - 0: 0%....50%....100% - 16 passes'\ntouch "$rep.ncu-rep"\ncp "$(dirname "$0")/good.driver.json" "$res"`;

describe("NcuProfiler degraded modes (real subprocesses)", () => {
  it("no ncu binary at KFORGE_NCU: unavailable, says what to set, cost recorded, remembered", async () => {
    const p = new NcuProfiler(config("/nonexistent/bin/ncu"), { baseEnv: BASE_ENV });
    const r = await p.profile({ problem, source: SOURCE });
    expect(r.status).toBe("unavailable");
    if (r.status !== "unavailable") return;
    expect(r.reason).toMatch(/KFORGE_NCU=\/nonexistent\/bin\/ncu is not an executable/);
    expect(r.reason).toMatch(/timing feedback/);
    expect(r.costMs).toBeGreaterThanOrEqual(0);
    expect((await p.profile({ problem, source: SOURCE })).status).toBe("unavailable");
  });

  it("no ncu on PATH: unavailable", async () => {
    const r = await new NcuProfiler(config("ncu"), { baseEnv: { PATH: "/nonexistent" } }).profile({ problem, source: SOURCE });
    expect(r).toMatchObject({ status: "unavailable" });
  });

  it("ERR_NVGPUCTRPERM: unavailable with the way out; later candidates skip ncu", async () => {
    const fake = scriptedNcu(
      `echo '==PROF== Connected to process 1 (/usr/bin/python3)'\necho '${ERR_NVGPUCTRPERM}'\necho '==PROF== Disconnected from process 1'\nexit 1`,
    );
    const p = new NcuProfiler(config(fake.path), { baseEnv: BASE_ENV, sandboxRw: [dirname(fake.path)] });
    const r = await p.profile({ problem, source: SOURCE, candidateId: "c1" });
    expect(r.status).toBe("unavailable");
    if (r.status !== "unavailable") return;
    expect(r.reason).toMatch(/ERR_NVGPUCTRPERM/);
    expect(r.reason).toMatch(/NVreg_RestrictProfilingToAdminUsers=0/);
    expect(r.costMs).toBeGreaterThan(0);
    const again = await p.profile({ problem, source: SOURCE, candidateId: "c2" });
    expect(again.status).toBe("unavailable");
    const runs = readFileSync(fake.log, "utf8")
      .split("\n")
      .filter((l) => l.includes("--clock-control"));
    expect(runs).toHaveLength(1);
  });

  it("the driver finds no GPU: unavailable", async () => {
    const fake = scriptedNcu(`echo '{"status": "no_gpu", "message": "torch.cuda.is_available() is False"}' > "$res"`);
    const r = await new NcuProfiler(config(fake.path), { baseEnv: BASE_ENV, sandboxRw: [dirname(fake.path)] }).profile({ problem, source: SOURCE });
    expect(r).toMatchObject({ status: "unavailable" });
    expect(r.status === "unavailable" && r.reason).toMatch(/no CUDA GPU/);
  });

  it("the kernel fails under ncu: failed with the phase and message", async () => {
    const fake = scriptedNcu(
      `echo '{"status": "error", "phase": "warmup", "message": "RuntimeError: Triton Error [CUDA]: an illegal memory access"}' > "$res"; exit 3`,
    );
    const r = await new NcuProfiler(config(fake.path), { baseEnv: BASE_ENV, sandboxRw: [dirname(fake.path)] }).profile({ problem, source: SOURCE });
    expect(r).toMatchObject({ status: "failed" });
    expect(r.status === "failed" && r.reason).toMatch(/during warmup: RuntimeError: .*illegal memory access/);
  });

  it("nothing matched the kernel-name filter: retries on the NVTX range alone, then fails", async () => {
    const fake = scriptedNcu(`echo '==WARNING== No kernels were profiled.'\necho '{"status": "ok", "compile": []}' > "$res"`);
    const r = await new NcuProfiler(config(fake.path), { baseEnv: BASE_ENV, sandboxRw: [dirname(fake.path)] }).profile({ problem, source: SOURCE });
    expect(r).toMatchObject({ status: "failed" });
    const runs = readFileSync(fake.log, "utf8")
      .split("\n")
      .filter((l) => l.includes("--clock-control"));
    expect(runs).toHaveLength(2);
    expect(runs[0]).toContain("--kernel-name regex:^(_attn_fwd)$");
    expect(runs[1]).not.toContain("--kernel-name");
  });

  it("ncu hangs: failed after the time limit, the process group killed", async () => {
    const fake = scriptedNcu("sleep 30");
    const t0 = Date.now();
    const r = await new NcuProfiler(config(fake.path), { baseEnv: BASE_ENV, timeoutMs: 1500, sandboxRw: [dirname(fake.path)] }).profile({
      problem,
      source: SOURCE,
    });
    expect(r).toMatchObject({ status: "failed" });
    expect(r.status === "failed" && r.reason).toMatch(/did not finish within 2 s|did not finish within 1 s/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe("NcuProfiler happy path against a scripted ncu", () => {
  it("runs ncu with the attention metric set on one NVTX-filtered launch and returns the parsed summary", async () => {
    const fake = scriptedNcu(PROFILED);
    const r = await new NcuProfiler(config(fake.path), { baseEnv: BASE_ENV, sandboxRw: [dirname(fake.path)] }).profile({
      problem,
      source: SOURCE,
      candidateId: "n7",
    });
    expect(r.status).toBe("ok");
    if (r.status !== "ok") return;
    expect(r.summary).toEqual(fixtureSummary("good"));
    expect(r.costMs).toBeGreaterThan(0);
    const run = readFileSync(fake.log, "utf8")
      .split("\n")
      .find((l) => l.includes("--clock-control"))!;
    expect(run).toContain("--clock-control none");
    expect(run).toContain(`--nvtx --nvtx-include ${NVTX_RANGE}`);
    expect(run).toContain("--kernel-name regex:^(_attn_fwd)$");
    expect(run).toContain("--shape 4,16,16,4096,128"); // the first benchmark shape
    expect(run).toContain('--params {"cap":30}');
    expect(run).toContain("sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active");
    expect(run).not.toContain("sm__pipe_fma_cycles_active"); // optional and not listed by this "device"
    expect(run).toContain("l1tex__t_bytes_pipe_lsu_mem_local_op_ld.sum");
  });
});

describe("tritonKernelNames", () => {
  it("finds @triton.jit functions under other decorators, not plain functions", () => {
    expect(tritonKernelNames(SOURCE)).toEqual(["_attn_fwd"]);
    expect(
      tritonKernelNames(
        "from triton import jit\n@jit\ndef k1(x):\n  pass\n@triton.jit(do_not_specialize=['S'])\ndef k2(x):\n  pass\ndef host():\n  pass\n",
      ),
    ).toEqual(["k1", "k2"]);
  });
});
