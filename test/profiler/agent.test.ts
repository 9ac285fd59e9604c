import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runProfilerAgent } from "../../agents/profiler/node.ts";
import { analyzeProfileOffline, ruleBottlenecks } from "../../agents/profiler/rules.ts";
import { Bottlenecks } from "../../agents/profiler/schema.ts";
import type { LlmDeps } from "../../agents/call.ts";
import type { NodeView } from "../../agents/types.ts";
import type { LlmCallRecord } from "../../memory/trace-types.ts";
import { loadProblem } from "../../problems/load.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { startScriptedServer, type ScriptedServer, type ScriptedReply } from "../../tools/scripted-server/server.ts";
import { fastClient } from "../model/helpers.ts";
import { fixtureSummary, fixtureText } from "./helpers.ts";

let problem: LoadedProblem;
let server: ScriptedServer | undefined;
beforeAll(() => {
  problem = loadProblem("softcap");
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const node: NodeView = {
  row: {
    id: "r1.3",
    runId: "r1",
    parentId: "r1",
    label: "3",
    depth: 1,
    iteration: 1,
    title: "softcap 128x64",
    status: "ok",
    speedup: 1.9,
    tflops: 312,
    summary: "correct, 1.90x",
    errorRatio: null,
    hasKernel: true,
    origin: "llm",
    createdAt: 0,
    updatedAt: 0,
    changeSeq: 0,
  },
  idea: "flash attention with softcap",
  kernel: "import triton\n# the good fixture kernel\n",
  verification: null,
  critique: null,
  profile: null,
};

async function agentWith(replies: ScriptedReply[]) {
  server = await startScriptedServer(replies);
  const { client } = fastClient(server.baseUrl, {}, "profiler");
  const calls: LlmCallRecord[] = [];
  const deps: LlmDeps = { client: () => client, record: (c) => void calls.push(c), gpu: "NVIDIA H100 80GB HBM3" };
  const summary = fixtureSummary("spill");
  const run = () => runProfilerAgent({ problem, node, summary }, { runId: "r1", nodeId: "r1.3" }, deps);
  return { run, calls, summary };
}

describe("profiler agent", () => {
  it("shows the model the profile and the rule-based findings, and keeps its JSON answer", async () => {
    const answer = {
      summary: "latency-bound: spills and one block per SM",
      bottlenecks: [{ issue: "spills", evidence: "255 registers, 18 spilled", suggestion: "num_warps=8", expectedGain: "High" }],
    };
    const { run, calls } = await agentWith([{ content: "Looking at it.\n```json\n" + JSON.stringify(answer) + "\n```" }]);
    const out = await run();
    expect(out.source).toBe("model");
    expect(out.bottlenecks).toEqual([{ ...answer.bottlenecks[0], expectedGain: "high" }]);
    const user = server!.requests[0]!.lastUser;
    expect(user).toMatch(/LATENCY bound/);
    expect(user).toMatch(/## Rule-based findings\n- \[high\] registers spill to local memory/);
    expect(server!.requests[0]!.system).toMatch(/expectedGain/);
    expect(calls).toHaveLength(1);
  });

  it("marks evidence numbers the profile does not contain, and ignores a model's own `unverified`", async () => {
    const answer = {
      summary: "latency-bound",
      bottlenecks: [
        { issue: "spills", evidence: "255 registers, 18 spilled", suggestion: "num_warps=8", unverified: ["255"] },
        { issue: "math pipe", evidence: "math_pipe_throttle 41% and tensor pipe 93.5% of peak", suggestion: "fewer exp2" },
      ],
    };
    const { run } = await agentWith([{ content: "```json\n" + JSON.stringify(answer) + "\n```" }]);
    const out = await run();
    expect(out.bottlenecks[0]!.unverified).toBeUndefined();
    expect(out.bottlenecks[1]!.unverified).toEqual(["41%", "93.5%"]);
  });

  it("falls back to the rule-based advisor when the reply has no usable JSON", async () => {
    const { run, calls, summary } = await agentWith([{ content: "The kernel is probably fine, maybe use more warps." }]);
    const out = await run();
    expect(out.source).toBe("rules");
    expect(out.summary).toMatch(/rule-based advice/);
    expect(out.bottlenecks).toEqual(ruleBottlenecks(summary).bottlenecks);
    expect(out.bottlenecks[0]!.issue).toBe("registers spill to local memory");
    expect(out.summary).toMatch(/reply unusable \(no-json\)/);
    expect(calls).toHaveLength(1); // the call itself is in the trace, with the reply
  });

  it("falls back to the rules when the endpoint keeps failing", async () => {
    const { run } = await agentWith(Array.from({ length: 8 }, () => ({ status: 500, errorMessage: "overloaded" })));
    const out = await run();
    expect(out.source).toBe("rules");
    expect(out.summary).toMatch(/profiler model unavailable/);
  });
});

describe("Bottlenecks schema", () => {
  it("accepts older replies without expectedGain and drops unknown gain words", () => {
    const r = Bottlenecks.parse({
      bottlenecks: [
        { issue: "a", suggestion: "b" },
        { issue: "c", suggestion: "d", expectedGain: "huge" },
      ],
    });
    expect(r.bottlenecks[0]!.expectedGain).toBeUndefined();
    expect(r.bottlenecks[1]!.expectedGain).toBeUndefined();
    expect(r.summary).toBe("");
  });

  it("rule advice parses as the agent's output", () => {
    expect(Bottlenecks.parse(ruleBottlenecks(fixtureSummary("tiny")))).toMatchObject({ source: "rules" });
    expect(fixtureText("env.txt")).toMatch(/H100/);
  });
});

describe("offline profiler agent", () => {
  it("answers with the advisor's bottlenecks, no model involved", async () => {
    const out = await analyzeProfileOffline({ problem, node, summary: fixtureSummary("smallgrid") });
    expect(out.source).toBe("rules");
    expect(out.summary).toMatch(/^underutilised-bound/);
    expect(out.bottlenecks[0]!.issue).toBe("the grid is too small to fill the GPU");
  });
});
