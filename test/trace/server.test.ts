import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { startUiServer, type UiServer } from "../../ui/server.ts";
import { openTraceReader } from "../../memory/trace-reader.ts";
import type { BestPoint, NodePanelData, RunRow, TreeBatch } from "../../ui/trace-view.ts";
import { appendIteration } from "../fixtures/trace-fixture.ts";
import { recordedDb } from "./helpers.ts";

/** A raw GET over loopback (fetch cannot send a foreign Host header). */
function get(
  url: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += String(c)));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function json<T>(url: string): Promise<T> {
  const r = await get(url);
  expect(r.status, `${url}: ${r.body}`).toBe(200);
  return JSON.parse(r.body) as T;
}

describe("kforge ui server", () => {
  let fx: ReturnType<typeof recordedDb>;
  let server: UiServer;
  let api: string;
  beforeAll(async () => {
    fx = recordedDb({ running: true });
    server = await startUiServer({ dbPath: fx.dbPath, port: 0, pollMs: 100 });
    api = `${server.url}api/runs/${fx.run.runId}`;
  });
  afterAll(async () => {
    await server?.close();
    fx.cleanup();
  });

  it("listens on 127.0.0.1 only and answers only to local Host names", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await get(`${server.url}api/health`, { host: `localhost:${server.port}` })).status).toBe(200);
    const foreign = await get(`${server.url}api/runs`, { host: "attacker.example" });
    expect(foreign.status).toBe(421);
    expect((await get(`${server.url}api/runs`, {}, "POST")).status).toBe(405);
  });

  it("serves the page and its script locally, under a CSP that allows only its own origin", async () => {
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect(page.body).not.toMatch(/https?:\/\//);
    const script = await get(`${server.url}app.js`);
    expect(script.status).toBe(200);
    expect(script.body.length).toBeGreaterThan(20_000); // the client plus highlight.js's Python grammar
    expect(script.body).not.toMatch(/https?:\/\/(cdn|unpkg|fonts)\./);
    expect((await get(`${server.url}style.css`)).status).toBe(200);
    expect((await get(`${server.url}../../etc/passwd`)).status).toBe(404);
  });

  it("lists runs and gives the tree in compact form with a cursor", async () => {
    const runs = await json<RunRow[]>(`${server.url}api/runs`);
    expect(runs.map((r) => r.id)).toEqual([fx.run.runId]);
    const tree = await json<TreeBatch>(`${api}/tree`);
    expect(tree.run.status).toBe("running");
    expect(tree.nodes).toHaveLength(29);
    expect(tree.nodes[0]).toEqual([`${fx.run.runId}.0`, null, "root", "root", null, "softcap: cap * tanh(s / cap)", 0, ""]);
    const best = tree.nodes.find((n) => n[2] === "5.1")!;
    expect(best.slice(1, 5)).toEqual([`${fx.run.runId}.4.2`, "5.1", "ok", 1.83]);
    expect(tree.cursor).toBeGreaterThan(0);
    const since = await json<TreeBatch>(`${api}/tree?since=${tree.cursor}`);
    expect(since.nodes).toEqual([]);
  });

  it("gives a node's detail with the diff against its parent, by label or id", async () => {
    const byLabel = await json<NodePanelData>(`${api}/nodes/5.1`);
    const byId = await json<NodePanelData>(`${api}/nodes/${encodeURIComponent(`${fx.run.runId}.5.1`)}`);
    expect(byId).toEqual(byLabel);
    expect(byLabel.parentLabel).toBe("4.2");
    expect(byLabel.diff).toMatch(/^--- 4\.2\/kernel\.py\n\+\+\+ 5\.1\/kernel\.py/);
    expect(byLabel.detail.llmCalls.map((c) => c.role)).toEqual(["coder", "critic", "planner"]);
    expect(byLabel.detail.llmCalls[0]!.reasoning).toContain("online softmax");
    expect(byLabel.detail.profiles).toHaveLength(1);
    expect(byLabel.detail.critiques[0]!.verdict).toBe("promising");
    expect((await json<NodePanelData>(`${api}/nodes/1.1`)).diff).toBeNull(); // the root has no kernel
    expect((await get(`${api}/nodes/9.9`)).status).toBe(404);
    expect((await get(`${server.url}api/runs/nope/tree`)).status).toBe(404);
  });

  it("answers 400, saying what is wrong, to malformed run ids, node ids, cursors and percent-encoding", async () => {
    const bad = async (path: string, says: RegExp) => {
      const r = await get(`${server.url}${path}`);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).error, path).toMatch(says);
    };
    await bad("api/runs/%E0%A4%A/tree", /malformed URL .*valid percent-encoding/);
    await bad("style%ZZ.css", /malformed URL/);
    expect((await get(`${server.url}api/runs`.replace(/\/api\/runs$/, "//evil.example/api/runs"))).status).toBe(400);
    await bad(`api/runs/${encodeURIComponent("a b;c")}/tree`, /malformed run id "a b;c"/);
    await bad(`api/runs/${encodeURIComponent("../etc")}`, /malformed run id/);
    await bad(`api/runs/${fx.run.runId}/nodes/${encodeURIComponent("5.1'--")}`, /malformed node id/);
    await bad(`api/runs/${fx.run.runId}/tree?since=-1`, /malformed since="-1"/);
    await bad(`api/runs/${fx.run.runId}/live?since=abc`, /malformed since="abc"/);
    // Well-formed but absent things are still 404, and a well-formed request still works.
    expect((await get(`${server.url}api/runs/no-such-run/tree`)).status).toBe(404);
    expect((await get(`${api}/nodes/99.9`)).status).toBe(404);
    expect((await get(`${api}/tree?since=0`)).status).toBe(200);
    expect((await get(`${api}/frobnicate`)).status).toBe(404);
  });

  it("gives the best speedup over time as a rising series", async () => {
    const best = await json<BestPoint[]>(`${api}/best`);
    expect(best.map((b) => b.speedup)).toEqual([0.62, 1.08, 1.21, 1.47, 1.63, 1.71, 1.83]);
    for (let i = 1; i < best.length; i++) expect(best[i]!.elapsedMs).toBeGreaterThan(best[i - 1]!.elapsedMs);
  });

  it("streams new and changed nodes while a search writes, without blocking the writer", async () => {
    const tree = await json<TreeBatch>(`${api}/tree`);
    const batches: TreeBatch[] = [];
    const controller = new AbortController();
    const res = await fetch(`${api}/live?since=${tree.cursor}`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^event: tree\ndata: (.*)$/m.exec(event);
          if (data) batches.push(JSON.parse(data[1]!) as TreeBatch);
        }
      }
    })().catch(() => {});
    // A writer (the search) adds an iteration while the stream is open: every write must succeed at once.
    const started = Date.now();
    const ids = appendIteration(fx.dbPath, fx.run.runId, 8, "7.3", [
      { title: "live one", idea: "x", knobs: {}, outcome: { ok: 1.9 } },
      { title: "live two", idea: "y", knobs: {}, outcome: "compile_error" },
    ]);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => batches.flatMap((b) => b.nodes.map((n) => n[0])), { timeout: 5000 }).toEqual(expect.arrayContaining(ids));
    const last = batches
      .flatMap((b) => b.nodes)
      .filter((n) => n[0] === ids[0])
      .at(-1)!;
    expect(last.slice(2, 5)).toEqual(["8.1", "ok", 1.9]);
    expect(batches.at(-1)!.run.bestSpeedup).toBe(1.9);
    controller.abort();
    await reading;
  });

  it("caps live streams: one more than the limit gets a clear 503, and a closed stream frees its place", async () => {
    const capped = await startUiServer({ dbPath: fx.dbPath, port: 0, pollMs: 100, maxStreams: 2 });
    const live = `${capped.url}api/runs/${fx.run.runId}/live`;
    const open: AbortController[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = new AbortController();
        open.push(c);
        const res = await fetch(live, { signal: c.signal });
        expect(res.status).toBe(200);
      }
      const refused = await get(live);
      expect(refused.status).toBe(503);
      expect(refused.headers["retry-after"]).toBe("10");
      expect(JSON.parse(refused.body).error).toMatch(/too many live streams: 2 are open, the limit is 2.*--max-streams/);
      expect((await get(`${capped.url}api/runs/${fx.run.runId}/tree`)).status).toBe(200); // plain requests are not capped
      open.shift()!.abort();
      await expect
        .poll(async () => (await fetch(live, { signal: AbortSignal.timeout(2000) }).catch(() => null))?.status, { timeout: 5000 })
        .toBe(200);
    } finally {
      for (const c of open) c.abort();
      await capped.close();
    }
  });

  it("cannot write through its connection", () => {
    const reader = openTraceReader(fx.dbPath);
    try {
      const insert = () =>
        reader.queries.db
          .prepare("INSERT INTO trace_events (run_id, node_id, kind, message, created_at) VALUES (?, NULL, 'test', 'should fail', 0)")
          .run(fx.run.runId);
      expect(insert).toThrow(/readonly|read-only|query_only/i);
    } finally {
      reader.close();
    }
    // The database is intact and still writable by the search.
    const db = openDatabase(fx.dbPath);
    try {
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      new TraceStore(db).setup().recordEvent(fx.run.runId, null, "test", "writer still fine");
    } finally {
      db.close();
    }
  });
});
