/**
 * A model endpoint that dies mid-run: the breaker opens after N consecutive endpoint failures, pauses
 * with backoff, and stops the run early as `stopped: model endpoint unreachable`; nothing recorded is
 * lost, and `resume` against the endpoint once it is back finishes the run without redoing work.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { kernelModel } from "./script.ts";
import { searchSetup, tempDb } from "./helpers.ts";

const problem = loadProblem("softcap");
const FATES = ["ok 1.2", "compile_error", "ok 1.4", "wrong_output 2"];
// Three failures open the breaker; probes every 50 ms, doubling; give up after 400 ms of outage.
const BREAKER = { KFORGE_BREAKER_FAILURES: "3", KFORGE_BREAKER_PAUSE_S: "0.05", KFORGE_BREAKER_WAIT_S: "0.4" };

describe("dead endpoint mid-run", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  it("stops early as stopped: model endpoint unreachable, keeps the trace, and resumes to the end once the endpoint is back", async () => {
    const model = kernelModel({ fates: FATES, sequential: true });
    let chats = 0;
    let dead = false;
    // The endpoint dies right after the first expansion's critic answered: from that request on every
    // connection is cut (so no later call can succeed however fast the machine), and the port closes
    // once the critic's answer is out.
    server = await startScriptedServer((req) => {
      chats++;
      if (dead) return { dropConnection: true };
      if (req.role === "critic") {
        dead = true;
        setTimeout(() => void server.close(), 30);
      }
      return model(req);
    });
    const port = server.port;
    const limits = { wallMs: 120_000, maxNodes: 24 };
    const verifier = new InstantVerifier();
    const runId = newRunId();
    // Two expansions in flight once the root's children exist: the bound below counts their calls.
    const options = { branching: 4, inflight: 2 };
    const first = searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl: server.baseUrl, limits, options, env: BREAKER, runId });
    createRun(t.store, { runId, problem: problem.spec.name, limits, options: first.options, config: {} });

    const began = Date.now();
    const stopped = await driveRun(runId, first);
    expect(stopped).toMatchObject({ status: "stopped", stopReason: "model endpoint unreachable" });
    expect(stopped.error).toMatch(/model endpoint unreachable/);
    expect(Date.now() - began).toBeLessThan(20_000); // not the 120 s budget
    const run = t.store.getRun(runId)!;
    expect(run).toMatchObject({ status: "stopped", stopReason: "model endpoint unreachable" });
    const kinds = t.store.eventsSince(runId).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["breaker_open", "breaker_probe", "endpoint_unreachable", "stopped"]));
    expect(first.progress.lines.some((l) => /model calls in a row failed on the endpoint/.test(l))).toBe(true);

    // The first expansion is intact. Without the breaker the other 20 nodes would all fail on the dead
    // endpoint; with it, only the calls in flight when it opened and its probes do: the two expansions in
    // flight, and one started in the slot of one of them that ended (all its calls failed) before it opened.
    const before = t.store.listNodes(runId).filter((n) => n.parentId);
    const finished = before.filter((n) => !["coding", "failed"].includes(n.status));
    expect(finished).toHaveLength(4);
    expect(before.filter((n) => n.status === "failed").length).toBeLessThanOrEqual(4 * (options.inflight + 1));
    const failedCall = t.store.getNodeDetail(before.find((n) => n.status === "failed")!.id)!.llmCalls[0]!;
    expect(failedCall.error).toMatch(/connection/);
    expect(failedCall.retries.length).toBe(5);
    const chatsWhenStopped = chats;

    // The endpoint is back (same URL): a resume finishes the run; finished nodes are neither lost nor redone.
    server = await startScriptedServer(model, { port });
    const verifiedBefore = verifier.sources.length;
    const second = searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl: server.baseUrl, limits, options, env: BREAKER, runId });
    const done = await driveRun(runId, second);
    expect(done).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 24 });
    const after = new Map(t.store.listNodes(runId).map((n) => [n.id, n]));
    for (const n of finished) expect(after.get(n.id)).toMatchObject({ status: n.status, speedup: n.speedup });
    expect(verifier.sources.length - verifiedBefore).toBe(
      [...after.values()].filter((n) => n.hasKernel).length - finished.filter((n) => n.hasKernel).length,
    );
    expect(server.requests.length).toBeGreaterThan(0);
    expect(chatsWhenStopped).toBeGreaterThanOrEqual(6);
    expect(t.store.eventsSince(runId).map((e) => e.kind)).toContain("resume");
  }, 60_000);
});
