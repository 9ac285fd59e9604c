/** Token and money budgets reserve for calls in flight: parallel coders cannot overshoot --max-tokens / --max-cost by more than one call's cap. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { SpendGate } from "../../agents/spend-gate.ts";
import type { BudgetLimits } from "../../graph/budget.ts";
import { kernelModel } from "./script.ts";
import { searchSetup, tempDb } from "./helpers.ts";

const problem = loadProblem("softcap");
const FATES = ["ok 1.2", "compile_error", "ok 1.6", "wrong_output 2"];
const CALL_CAP = 3000;

describe("budgets reserve for calls in flight", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(async () => {
    // Slow replies: four coders are always in flight together, as on a real endpoint.
    server = await startScriptedServer(kernelModel({ fates: FATES, delayMs: 60 }));
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  function run(limits: BudgetLimits, gated: boolean, model?: string) {
    const runId = newRunId();
    const spend = new SpendGate(
      limits,
      () => {
        const r = t.store.runTotals(runId);
        return { tokens: r.promptTokens + r.completionTokens, costUsd: r.costUsd };
      },
      CALL_CAP,
    );
    const setup = searchSetup({
      db: t.db,
      store: t.store,
      problem,
      verifier: new InstantVerifier(),
      baseUrl: server.baseUrl,
      limits,
      options: { branching: 4, seed: 3 },
      env: { KFORGE_MAX_REPLY_TOKENS: String(CALL_CAP) },
      ...(gated ? { spend } : {}),
      ...(model ? { model } : {}),
    });
    createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
    return { runId, done: driveRun(runId, setup) };
  }

  it("--max-tokens: the ungated search overshoots by a whole expansion; the gated one stays within one call's cap", async () => {
    const limits = { wallMs: 60_000, maxTokens: 12_000, maxNodes: 100 };
    const ungated = await run(limits, false).done;
    expect(ungated.stopReason).toBe("budget:tokens");
    expect(ungated.tokens).toBeGreaterThan(limits.maxTokens + CALL_CAP); // what the issue saw: checked only between expansions

    const gated = run(limits, true);
    const s = await gated.done;
    expect(s.stopReason).toBe("budget:tokens");
    expect(s.tokens).toBeLessThanOrEqual(limits.maxTokens + CALL_CAP);
    expect(s.tokens).toBeGreaterThan(0);
    // Every call carried the cap the reservation assumed.
    expect(server.requests.filter((r) => r.path.endsWith("/chat/completions")).every((r) => r.maxTokens === CALL_CAP)).toBe(true);
  }, 60_000);

  it("--max-cost with a priced model: spent money stays within one call's worth of the limit, refusals are recorded", async () => {
    const limits = { wallMs: 60_000, maxCostUsd: 0.01, maxNodes: 100 };
    const { runId, done } = run(limits, true, "deepseek-reasoner");
    const s = await done;
    expect(s.stopReason).toBe("budget:cost");
    const oneCall = (CALL_CAP * 0.42 + 12_000 * 0.28) / 1_000_000; // a generous prompt plus the cap, at list prices
    expect(s.costUsd).toBeLessThanOrEqual(limits.maxCostUsd + oneCall);
    expect(s.costUsd).toBeGreaterThan(0);
    // A call the budget could not cover is recorded as refused, with no usage.
    const calls = t.store.listNodes(runId).flatMap((n) => t.store.getNodeDetail(n.id)!.llmCalls);
    for (const c of calls.filter((c) => /budget:cost: not started/.test(c.error ?? ""))) expect(c.promptTokens + c.completionTokens).toBe(0);
  }, 60_000);
});
