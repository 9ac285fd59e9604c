/**
 * A user variant through the model path: the scripted OpenAI-compatible server plays the model, the real agents,
 * graph and verifier harness run on the CPU. The prompts show the captured tensors by name, shape and dtype; a
 * kernel that uses them is correct, one that ignores one is caught as wrong output.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { loadProblem } from "../../problems/load.ts";
import { scaffoldProblem } from "../../problems/scaffold.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "../search/script.ts";
import { searchSetup, tempDb } from "../search/helpers.ts";
import { testConfig } from "../verifier/helpers.ts";

const FIX = join(repoRoot(), "test", "fixtures", "variants");
const GOOD = readFileSync(join(FIX, "graph_bias_kernel.py"), "utf8");
const IGNORES = GOOD.replace(/^.*# IGNORE_TABLE$/m, "    s = s + 0.0");

describe("a user variant on the model path", () => {
  const config = testConfig();
  let server: ScriptedServer;
  let problem: LoadedProblem;
  let t: ReturnType<typeof tempDb>;
  beforeAll(async () => {
    const fx = join(FIX, "graph_bias.py");
    const dir = await scaffoldProblem({ name: "graph_bias_model", scoreModPath: fx, maskModPath: fx, device: "cpu", shapes: "1x2x64x16", config });
    problem = loadProblem(dir);
    server = await startScriptedServer(
      kernelModel({ fates: ["good", "ignores"], kernel: (fate) => (fate === "good" ? GOOD : IGNORES), sequential: true }),
    );
    t = tempDb();
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    t?.cleanup();
    rmSync(config.home, { recursive: true, force: true });
  });

  it("shows the model the captured tensors and catches a kernel that ignores one", async () => {
    const verifier = createVerifierPool(config, { problem });
    try {
      const limits = { wallMs: 600_000, maxNodes: 4 };
      const setup = searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl: server.baseUrl, limits, options: { branching: 4, seed: 1 } });
      const runId = newRunId();
      createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
      await driveRun(runId, setup);
      const nodes = t.store.listNodes(runId).filter((n) => n.parentId);
      const fate = (f: string) => nodes.filter((n) => n.title.endsWith(`[${f}]`));
      expect(fate("good").length).toBeGreaterThan(0);
      expect(fate("ignores").length).toBeGreaterThan(0);
      for (const n of fate("good")) expect(n.status, n.title).toBe("ok");
      for (const n of fate("ignores")) expect(n.status, n.title).toBe("wrong_output");

      const coder = server.requests.find((r) => r.role === "coder")!;
      const user = coder.messages.find((m) => m.role === "user")!.content;
      expect(user).toContain("## Inputs of attention(...)");
      expect(user).toContain("  - `dist`: int64 [B, S, S]");
      expect(user).toContain("  - `bias_table`: float32 [H, 8]");
      expect(user).toContain("def generate_graph_bias(B, H, S, S_kv, device, generator):"); // the variant file itself
      expect(coder.system).toContain("`is_global`: a bool[S] tensor the mods capture (an input: never modify it)");
      // a CPU variant: every text the coder reads says CPU lane, and the torch-math kernel it was told it may write passed
      expect(coder.system).toContain("- dtype bf16, contiguous, CPU tensors;");
      expect(coder.system).toContain("PyTorch ops may do the work there");
      expect(user).toContain("Write a fast kernel for kforge's CPU lane");
      expect(coder.system + user).not.toMatch(/GPU attention kernels|GPU kernel|, on the GPU|CUDA tensors|PyTorch may only allocate/); // (reference.py names both paths)
      const planner = server.requests.find((r) => r.role === "planner")!;
      expect(planner.messages.find((m) => m.role === "user")!.content).toContain("  - `is_global`: bool [S]");
    } finally {
      await verifier.close();
    }
  }, 600_000);
});
