/**
 * A search whose model misbehaves within one expansion: a reply past the size cap fails its node with
 * `reply_too_large` (recorded, not retried, the endpoint counted as up), and a call retried after a 503
 * keeps the reason, which `kforge trace --node` shows.
 */
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { main } from "../../cli/main.ts";
import { kernelModel } from "./script.ts";
import { searchSetup, tempDb } from "./helpers.ts";

const problem = loadProblem("softcap");

describe("bounded replies in a search", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  it("a reply past the cap fails only its node; a retried call's reason is in the trace and in `kforge trace --node`", async () => {
    const model = kernelModel({ fates: ["huge", "ok 1.2", "ok 1.1", "compile_error"], sequential: true });
    let overloaded = false;
    server = await startScriptedServer((req) => {
      const reply = model(req);
      if (req.role !== "coder") return reply;
      if (/\[huge\]/.test(req.messages[1]?.content ?? "")) return { content: `\`\`\`python\n${"# pad\n".repeat(4000)}\`\`\``, chunkChars: 500 };
      if (!overloaded && /\[ok 1\.2\]/.test(req.messages[1]?.content ?? "")) {
        overloaded = true;
        return { status: 503, errorMessage: "engine overloaded, try later" };
      }
      return reply;
    });
    const limits = { wallMs: 60_000, maxNodes: 4 };
    const runId = newRunId();
    const setup = searchSetup({
      db: t.db,
      store: t.store,
      problem,
      verifier: new InstantVerifier(),
      baseUrl: server.baseUrl,
      limits,
      options: { branching: 4 },
      env: { KFORGE_MAX_REPLY_CHARS: "5000", KFORGE_BREAKER_FAILURES: "1" },
      runId,
    });
    createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
    const s = await driveRun(runId, setup);
    // A breaker opening at the first endpoint failure did not fire: a too-large reply means the endpoint is up.
    expect(s).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 4 });
    expect(t.store.eventsSince(runId).map((e) => e.kind)).not.toContain("breaker_open");

    const nodes = t.store.listNodes(runId).filter((n) => n.parentId);
    const huge = nodes.find((n) => n.title.includes("[huge]"))!;
    expect(huge.status).toBe("failed");
    expect(huge.summary).toMatch(/reply_too_large: the streamed reply passed 5000 characters/);
    const hugeCall = t.store.getNodeDetail(huge.id)!.llmCalls[0]!;
    expect(hugeCall).toMatchObject({ attempts: 1, response: null });
    expect(hugeCall.error).toMatch(/reply_too_large/);

    const retried = nodes.find((n) => n.title.includes("[ok 1.2]"))!;
    expect(retried.status).toBe("ok");
    const call = t.store.getNodeDetail(retried.id)!.llmCalls[0]!;
    expect(call.attempts).toBe(2);
    expect(call.retries).toEqual([expect.objectContaining({ attempt: 1, status: 503, errorClass: "HTTP 503" })]);

    const out = new PassThrough();
    const err = new PassThrough();
    const code = await main(["trace", runId, "--node", retried.label, "--db", t.path], { stdout: out, stderr: err });
    expect(code, String(err.read() ?? "")).toBe(0);
    expect(String(out.read())).toMatch(/\(.*2 attempts.*\)\n {2}attempt 1 failed: HTTP 503: .*engine overloaded, try later; retried after \d+\.\d s/);
  }, 60_000);
});
