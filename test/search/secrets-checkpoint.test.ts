/**
 * Secrets in what the graph itself carries: a verifier result and idea titles holding the key travel
 * through the graph's state, which LangGraph checkpoints into the same SQLite file. In-process, with a
 * fake verifier whose results quote the key; the raw bytes of the file and its WAL must not hold it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { createRedactor } from "../../core/redact.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier, verdictOf } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import type { VerifyRequest } from "../../tools/verifier/types.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { kernelModel } from "./script.ts";
import { scriptedConfig, searchSetup, tempDb } from "./helpers.ts";

const problem = loadProblem("softcap");
const KEY = "sk-ckpt-5e6f7a8b9c0d1e2f3a4b";

/** A verifier whose failures quote the key on their first line (what a kernel reading /proc/PID/environ would print). */
class LeakyVerifier extends InstantVerifier {
  override async verify(req: VerifyRequest): Promise<VerifyResult> {
    await super.verify(req);
    const r = verdictOf(req.source);
    if (r.status === "ok" || r.status === "timeout") return r;
    return {
      ...r,
      message: `KFORGE_API_KEY=${KEY} found in /proc/1/environ`,
      log: `environ dump: ${Buffer.from(`KFORGE_API_KEY=${KEY}`).toString("base64")}`,
    };
  }
}

describe("secrets in the graph's checkpoints", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(async () => {
    const model = kernelModel({ fates: ["compile_error", "ok 1.3", "rejected", "wrong_output 2"], sequential: true });
    // Idea titles quote the key too (a model echoing what it saw in the feedback).
    server = await startScriptedServer((req) => {
      const reply = model(req);
      return req.role === "planner" ? { ...reply, content: (reply.content ?? "").replace(/"title":"/g, `"title":"${KEY} `) } : reply;
    });
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  it("no key in the file's bytes, checkpoints included; the trace keeps the scrubbed texts", async () => {
    const env = { KFORGE_API_KEY: KEY };
    const store = new TraceStore(t.db, { redactor: createRedactor(scriptedConfig(server.baseUrl, "scripted-model", env).secrets) }).setup();
    const limits = { wallMs: 60_000, maxNodes: 8 };
    const runId = newRunId();
    const setup = searchSetup({
      db: t.db,
      store,
      problem,
      verifier: new LeakyVerifier(),
      baseUrl: server.baseUrl,
      limits,
      options: { branching: 4 },
      env,
      runId,
    });
    createRun(store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
    expect(await driveRun(runId, setup)).toMatchObject({ status: "done", nodes: 8 });

    const failed = store.listNodes(runId).find((n) => n.status === "compile_error")!;
    expect(failed.summary).toContain("[redacted:KFORGE_API_KEY]");
    expect(failed.title).toContain("[redacted:KFORGE_API_KEY]");
    const checkpoints = t.db.prepare("SELECT COUNT(*) AS n FROM checkpoints WHERE thread_id = ?").get(runId) as { n: number };
    expect(checkpoints.n).toBeGreaterThan(0);
    const prompts = server.requests.map((r) => JSON.stringify(r.messages)).join("\n");
    expect(prompts).toContain("[redacted:KFORGE_API_KEY]");
    expect(prompts).not.toContain(KEY);

    const dir = dirname(t.path);
    const bytes = readdirSync(dir)
      .filter((f) => f.startsWith("kforge.sqlite"))
      .map((f) => readFileSync(join(dir, f)).toString("latin1"))
      .join("");
    expect(bytes).toContain("[redacted:KFORGE_API_KEY]");
    expect(bytes).not.toContain(KEY);
    expect(bytes).not.toContain(KEY.slice(3, 20));
    expect(bytes).not.toContain(Buffer.from(`KFORGE_API_KEY=${KEY}`).toString("base64").slice(4, 30));
  }, 60_000);
});
