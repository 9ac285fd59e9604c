/**
 * When the planner's reply is unusable on a KernelBench problem that runs on a GPU, the fallback ideas fit any PyTorch
 * module (a fused epilogue, tiled matmuls and convolutions on the tensor cores, coalesced vectorised access, one pass
 * over memory, launch settings), never attention's (masked blocks, key/value blocks, softmax tricks).
 *
 * No GPU is needed to reach that fallback: `kforge search` runs as a real child process on a CUDA KernelBench problem
 * (test/fixtures/kernelbench/level2/12_Gemm_Bias_GELU.py without its `# kforge: device=cpu` line) and verifies through
 * a real redis-server queue (KFORGE_QUEUE, this machine's lanes off), whose only worker is this test: it takes the cuda
 * jobs and answers them as a GPU worker would (a baseline, a correct result, no Nsight Compute), so the search goes on
 * to the planner, a scripted model that only answers prose. The coder's requests and `kforge trace` show the ideas.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kbFallback } from "../../agents/kernelbench/llm.ts";
import type { PlanInput } from "../../agents/types.ts";
import { loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import { GROUP, keys, type QueueJob, type WorkerMessage } from "../../tools/queue/protocol.ts";
import { ensureGroup } from "../../tools/queue/streams.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { startScriptedServer, type RecordedRequest, type ScriptedReply, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { RedisServer } from "../queue/redis-server.ts";
import { ROOT } from "../verifier/helpers.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";
import { coderIdea } from "./fallback-search.ts";

const GEMM_FILE = join(ROOT, "test", "fixtures", "kernelbench", "level2", "12_Gemm_Bias_GELU.py");
const GOOD_GEMM = readFileSync(join(ROOT, "test", "fixtures", "kernelbench", "candidates", "good_gemm_bias_gelu.py"), "utf8");
const GPU = "NVIDIA H100 80GB HBM3";

/** Ideas that mean something only for attention: a mask to skip, key/value blocks, a softmax to make cheaper. */
const ATTENTION_ONLY = /masked|\bmasks?\b|key\/value|\bkeys?\b|softmax|FlashAttention|attention|exp2|log2|online/i;

/** A model whose planner only answers prose (the fallback plan takes over); the coder writes a Triton module. */
function proseModel(req: RecordedRequest): ScriptedReply {
  if (req.role === "planner") return { content: "I would try a few things, but I will not write JSON today." };
  if (req.role === "coder") return { content: `Here it is.\n\n\`\`\`python\n${GOOD_GEMM}\`\`\`\n` };
  if (req.role === "critic") {
    const labels = /Judge every candidate \(([^)]*)\)/.exec(req.lastUser)?.[1]?.split(", ") ?? [];
    const critiques = labels.map((node) => ({ node, verdict: "promising", issues: [], nextIdeas: [], keyIdeas: [] }));
    return { content: `\`\`\`json\n${JSON.stringify({ critiques })}\n\`\`\`` };
  }
  return { content: "```json\n{}\n```" };
}

/**
 * The queue's one GPU worker, played by the test: it takes each cuda job and answers as a worker on an H100 does
 * (tools/queue/worker.ts's messages): a baseline, a correct result for each candidate, no Nsight Compute.
 */
class StandInGpuWorker {
  readonly jobs: QueueJob[] = [];
  private stopped = false;
  private readonly reader: Redis;
  private readonly writer: Redis;
  private loop: Promise<void> | undefined;

  constructor(url: string) {
    this.reader = new Redis(url, { maxRetriesPerRequest: null });
    this.writer = new Redis(url, { maxRetriesPerRequest: null });
  }

  async start(): Promise<void> {
    await ensureGroup(this.writer, keys.jobs("cuda"));
    this.loop = this.serve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.reader.disconnect();
    this.writer.disconnect();
  }

  private async serve(): Promise<void> {
    while (!this.stopped) {
      const got = (await this.reader.xreadgroup("GROUP", GROUP, "stand-in-gpu", "COUNT", 1, "BLOCK", 200, "STREAMS", keys.jobs("cuda"), ">")) as
        | [string, [string, string[]][]][]
        | null;
      for (const [, entries] of got ?? []) {
        for (const [, flat] of entries) {
          const job = JSON.parse(flat[flat.indexOf("job") + 1]!) as QueueJob;
          this.jobs.push(job);
          const sender = { jobId: job.jobId, attempt: job.attempt, workerId: "stand-in-gpu", host: "gpu-host", gpu: GPU };
          await this.post(job, { type: "started", ...sender });
          await this.post(job, this.reply(job, sender));
        }
      }
    }
  }

  private reply(job: QueueJob, sender: { jobId: string; attempt: number; workerId: string; host: string; gpu: string }): WorkerMessage {
    const shape = { B: 1, H: 1, Hkv: 1, S: 128 * 512, D: 1 };
    const baselines = { eager: { ms: 0.05, tflops: 0 }, compile: { ms: 0.04, tflops: 0 } };
    if (job.kind === "baseline") {
      return {
        type: "baseline",
        ...sender,
        baseline: { problem: job.problem.name, gpu: GPU, shapes: { benchmark: baselines }, measuredAt: new Date().toISOString() },
      };
    }
    if (job.kind === "profile")
      return { type: "profiled", ...sender, outcome: { status: "unavailable", reason: "no ncu on this worker", costMs: 1 } };
    const result: VerifyResult = {
      status: "ok",
      checks: [{ shape, seed: 0, passed: true, maxError: 1e-6, allowance: 1e-4, case: "kernelbench: get_inputs() as written" }],
      timings: [{ shape, ms: 0.04, tflops: 0, baselines, speedup: { eager: 1.25, compile: 1, primary: 1.25 }, runs: 100 }],
      speedup: 1.25,
      tflops: null,
      phases: { totalMs: 900 },
      gpu: GPU,
    };
    return { type: "verified", ...sender, result };
  }

  private async post(job: QueueJob, msg: WorkerMessage): Promise<void> {
    await this.writer.xadd(keys.results(job.orchestrator), "*", "msg", JSON.stringify(msg));
  }
}

describe("the planner's fallback plan for a KernelBench problem on a GPU", () => {
  let server: ScriptedServer;
  let redis: RedisServer;
  let worker: StandInGpuWorker;
  let dir: string;
  let gpuFile: string;
  beforeAll(async () => {
    server = await startScriptedServer(proseModel);
    redis = await RedisServer.start();
    worker = new StandInGpuWorker(redis.url);
    await worker.start();
    dir = mkdtempSync(join(tmpdir(), "kforge-fallback-kb-gpu-"));
    // The same module without its `# kforge: device=cpu` line is a CUDA problem.
    gpuFile = join(dir, "12_Gemm_Bias_GELU.py");
    copyFileSync(GEMM_FILE, gpuFile);
    writeFileSync(gpuFile, readFileSync(gpuFile, "utf8").replace(/^# kforge: device=cpu\n/m, ""));
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    await redis?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it("kforge search through a GPU worker: the coder is asked for ideas that fit any module, none of attention's", async () => {
    expect(loadKernelBenchProblem(`kernelbench:${gpuFile}`).spec.device).toBe("cuda");
    const home = join(dir, "home");
    const env = { ...kforgeEnv(home, server.baseUrl), KFORGE_QUEUE: redis.url, KFORGE_QUEUE_LOCAL: "0" };
    const r = await runKforge(["search", "--problem", `kernelbench:${gpuFile}`, "--max-nodes", "6", "--branching", "3", "--budget", "3m"], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const runId = /^run (\S+)/m.exec(r.stdout)![1]!;

    // Every verification went to the GPU worker: a cuda job of this problem (the baseline first).
    expect(worker.jobs.length).toBeGreaterThanOrEqual(7);
    expect(new Set(worker.jobs.map((j) => j.device))).toEqual(new Set(["cuda"]));
    expect(worker.jobs[0]!.kind).toBe("baseline");
    expect(worker.jobs.filter((j) => j.kind === "verify").length).toBeGreaterThanOrEqual(6);

    const planner = server.requests.filter((q) => q.role === "planner");
    expect(planner.length).toBeGreaterThanOrEqual(2); // a fresh plan, then an improve plan on the correct candidates
    const ideas = server.requests.filter((q) => q.role === "coder").map(coderIdea);
    expect(ideas.length).toBeGreaterThanOrEqual(6);
    for (const idea of ideas) expect(idea).not.toMatch(ATTENTION_ONLY);
    expect(ideas[0]).toMatch(/^One fused kernel for the whole forward: Write one Triton kernel/);
    expect(ideas).toContainEqual(expect.stringMatching(/^Fuse the epilogue into the producing kernel: /));
    expect(ideas).toContainEqual(expect.stringMatching(/^Tile matmuls and convolutions for the tensor cores: .*implicit GEMM/));

    const trace = await runKforge(["trace", runId], env);
    expect(trace.code, trace.stderr).toBe(0);
    // The tree shows each node's title (long ones cut): the fallback's, on correct nodes verified on the GPU worker.
    expect(trace.stdout).toMatch(/^├─ 1\.1 .*One fused kernel for the whole forward +ok 1\.25x/m);
    expect(trace.stdout).toMatch(/Fuse the epilogue into the producing\b.* ok 1\.25x/);
    expect(trace.stdout).toMatch(/Vectorised, coalesced memory access +ok 1\.25x/);
    expect(trace.stdout).not.toMatch(/Skip masked work|Cheaper softmax|FlashAttention/);
  }, 300_000);

  it("every mode: ideas for any module on a GPU, none of attention's", () => {
    const p = loadKernelBenchProblem(`kernelbench:${gpuFile}`);
    const text = (ideas: { title: string; idea: string }[]) => ideas.map((i) => `${i.title}: ${i.idea}`).join("\n");
    for (const mode of ["fresh", "improve", "repair"] as const) {
      const out = kbFallback(p, { problem: p, mode, count: 8 } as unknown as PlanInput, "unusable");
      expect(out.fallback).toBe("unusable");
      expect(text(out.ideas)).not.toMatch(ATTENTION_ONLY);
      expect(out.ideas.length).toBeGreaterThanOrEqual(5);
      if (mode === "repair") expect(out.ideas[0]!.title).toBe("Fix the reported failure");
      if (mode === "fresh") expect(out.ideas[0]!.title).toBe("One fused kernel for the whole forward");
    }
    expect(kbFallback(p, { problem: p, mode: "improve", count: 8 } as unknown as PlanInput, "unusable").ideas.map((i) => i.title)).toEqual([
      "Fuse the epilogue into the producing kernel",
      "Tile matmuls and convolutions for the tensor cores",
      "Vectorised, coalesced memory access",
      "One pass over memory",
      "Retune launch settings",
    ]);
  });
});
