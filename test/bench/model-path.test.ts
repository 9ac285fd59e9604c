/**
 * A CPU rehearsal of bench/model-path (the GPU run of the agents with scripted replies): the same
 * script.json on a real scripted server, the real agents, graph and trace store, and a verifier that
 * answers what expect.json says each scripted kernel gets on an H100 (check_replies.py checks those
 * claims on the Triton emulator). It proves the script steers a softcap search as designed: every idea
 * gets the kernel written for it, every critique comes from the model, failures become repair material.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractPythonCode } from "../../agents/parse.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { loadProblem } from "../../problems/load.ts";
import { repoRoot } from "../../core/config.ts";
import { loadScriptFile, startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { verdictOf } from "../fakes/instant-verifier.ts";
import { searchSetup, tempDb } from "../search/helpers.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import type { BaselineTimings, Verifier, VerifyRequest } from "../../tools/verifier/types.ts";
import type { Profiler } from "../../tools/profiler/types.ts";

const dir = join(repoRoot(), "bench", "model-path");
const expectations = JSON.parse(readFileSync(join(dir, "expect.json"), "utf8")) as Record<string, { expect: string; assumedSpeedup?: number }>;

/** The replies (by name) that yield each module; repair replies may share a module with an earlier one. */
function repliesByModule(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of Object.keys(expectations).filter((k) => !k.startsWith("$"))) {
    const parsed = extractPythonCode(readFileSync(join(dir, "replies", `${name}.md`), "utf8"), { mustDefine: ["attention"] });
    if (parsed.ok) out.set(parsed.value, [...(out.get(parsed.value) ?? []), name]);
  }
  return out;
}

/** Answers what expect.json says the GPU verifier would; records which reply each source came from. */
class ExpectedVerifier implements Verifier {
  readonly seen: string[] = [];
  constructor(readonly replies: Map<string, string[]>) {}
  async verify(req: VerifyRequest): Promise<VerifyResult> {
    const name = this.replies.get(req.source)?.[0] ?? "unknown";
    this.seen.push(name);
    const e = expectations[name];
    return verdictOf(e ? `# verdict: ${e.expect} ${e.assumedSpeedup ?? 20}` : "# verdict: rejected");
  }
  async measureBaseline(): Promise<BaselineTimings> {
    return { problem: "softcap", gpu: "rehearsal", shapes: {}, measuredAt: new Date(0).toISOString() };
  }
  async close(): Promise<void> {}
}

const profiler: Profiler = {
  profile: async () => ({
    status: "ok",
    costMs: 1,
    summary: {
      kernel: "_softcap_attn_fwd",
      shape: { B: 4, H: 16, Hkv: 16, S: 4096, D: 128 },
      durationUs: 1000,
      bound: "compute",
      metrics: { "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active": 61 },
      stalls: [{ reason: "math_pipe_throttle", pct: 31 }],
      evidence: ["tensor pipe 61% of peak"],
    },
  }),
};

describe("bench/model-path script (CPU rehearsal)", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeAll(async () => {
    server = await startScriptedServer(loadScriptFile(join(dir, "script.json")));
    t = tempDb();
  });
  afterAll(async () => {
    await server.close();
    t.cleanup();
  });

  it("steers a 12-node softcap search: the intended kernel per idea, model critiques, a retried planner, a repaired reply", async () => {
    const problem = loadProblem("softcap");
    const verifier = new ExpectedVerifier(repliesByModule());
    const limits = { wallMs: 120_000, maxNodes: 12 };
    const setup = searchSetup({
      db: t.db,
      store: t.store,
      problem,
      verifier,
      baseUrl: server.baseUrl,
      limits,
      profiler,
      options: { branching: 4, seed: 0, inflight: 1 },
    }); // the script answers expansions in order: one at a time
    const runId = newRunId();
    createRun(t.store, { runId, problem: "softcap", limits, options: setup.options, config: {} });
    const summary = await driveRun(runId, setup);

    expect(server.unscripted.map((r) => `${r.role}: ${r.lastUser.slice(0, 80)}`)).toEqual([]);
    expect(summary).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 12, bestSpeedup: 2.1 });
    const byLabel = new Map(t.store.listNodes(runId).map((n) => [n.label, n]));
    const intended: Record<string, string> = {
      "1.1": "coder-1-fa2-basic",
      "1.2": "coder-1-tiny-tiles",
      "1.3": "coder-1-headdim-runtime",
      "1.4": "coder-1-scale-after-cap",
      "2.1": "coder-2-exp2-fast-tanh",
      "2.2": "coder-2-static-max",
      "2.3": "coder-2-host-bases",
      "2.4": "coder-2-split-tail",
      "3.1": "coder-3-tiles-by-dim",
      "3.2": "coder-3-four-warps",
      "3.3": "coder-3-four-stages",
      "3.4": "coder-3-heads-fastest",
    };
    for (const [label, reply] of Object.entries(intended)) {
      expect(verifier.replies.get(t.store.getNodeDetail(byLabel.get(label)!.id)!.kernel ?? ""), label).toContain(reply);
    }
    expect(byLabel.get("2.1")!.parentId).toBe(byLabel.get("1.1")!.id); // improve the best of the first batch
    expect(byLabel.get("3.1")!.parentId).toBe(byLabel.get("2.2")!.id); // then the static-bound kernel
    expect(["1.3", "1.4", "2.3", "2.4"].map((l) => byLabel.get(l)!.status)).toEqual([
      "compile_error",
      "wrong_output",
      "runtime_error",
      "wrong_output",
    ]);

    // every candidate's critique came from the model's JSON, not the rule-based fallback
    for (const [label, n] of byLabel) if (label !== "root") expect((t.store.getCritique(n.id) as { source: string }).source, label).toBe("model");
    // the 429 was retried inside one recorded planner call; the reply without code got one repair turn
    const rootCalls = t.store.getNodeDetail(byLabel.get("root")!.id)!.llmCalls;
    expect(rootCalls.find((c) => c.role === "planner")!.attempts).toBe(2);
    expect(t.store.getNodeDetail(byLabel.get("1.2")!.id)!.llmCalls.filter((c) => c.role === "coder")).toHaveLength(2);
    // reasoning captured in all three forms (reasoning_content, reasoning, inline <think>)
    const calls = [...byLabel.values()].flatMap((n) => t.store.getNodeDetail(n.id)!.llmCalls);
    expect(calls.find((c) => c.role === "planner" && c.reasoning?.startsWith("Okay, nothing correct"))).toBeDefined();
    expect(calls.find((c) => c.reasoning?.startsWith("Fewer warps per program"))).toBeDefined();
    expect(calls.find((c) => c.reasoning?.includes("Key observation: after the cap"))).toBeDefined();
    // the profiler agent's advice on a profiled kernel
    const profiled = [...byLabel.values()].map((n) => t.store.getProfile(n.id)).find((p) => p?.bottlenecks);
    expect(JSON.stringify(profiled?.bottlenecks)).toMatch(/MUFU|trip count/);

    // the GPU run's summary reads the same trace: each node's reply, expected and found verdicts, no surprises
    const python = process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3";
    const out = join(t.dir, "summary.json");
    const r = spawnSync(python, [join(dir, "summarize.py"), "--db", t.path, "--run", runId, "--json", out], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^model-path run \S+: done \(budget:nodes\), 12 nodes, 8 correct, best 2\.10x \(node 3\.1\)/);
    const s = JSON.parse(readFileSync(out, "utf8")) as {
      surprises: string[];
      critiques: Record<string, number>;
      node_results: { label: string; reply: string }[];
    };
    expect(s.surprises).toEqual([]);
    expect(s.critiques).toEqual({ model: 12 });
    expect(s.node_results.find((n) => n.label === "2.3")!.reply).toBe("coder-2-host-bases");
  }, 120_000);

  it("the scripted kernels behave as expect.json says on the CPU Triton emulator", () => {
    const python = process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3";
    const r = spawnSync(python, [join(dir, "check_replies.py")], { encoding: "utf8", timeout: 110_000 });
    expect(r.stdout + r.stderr).toContain("check_replies: 0 mismatching");
    expect(r.status).toBe(0);
  }, 120_000);
});
