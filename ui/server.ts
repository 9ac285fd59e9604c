/**
 * The trace explorer's server (`kforge ui`): node:http on 127.0.0.1 only, a JSON API over a read-only
 * connection to the kforge database, live updates as Server-Sent Events, and the page's local assets.
 * It never writes: a search running in WAL mode is neither blocked nor put at risk by browsing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../core/config.ts";
import { openTraceReader } from "../memory/trace-reader.ts";
import type { TraceQueries } from "../memory/trace-queries.ts";
import { buildClient } from "./client-bundle.ts";
import { treeBatch, type NodePanelData } from "./trace-view.ts";
import { DEFAULT_MAX_STREAMS, LIVE_POLL_MS, LiveStreams } from "./live-stream.ts";
import { kernelDiff } from "./kernel-diff.ts";
import { BadRequest, parseApiPath, type ApiRoute } from "./api-route.ts";

export { DEFAULT_MAX_STREAMS, LIVE_POLL_MS } from "./live-stream.ts";

const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

/** Only our own origin: scripts, styles, data (inline style attributes for bar widths). */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

export interface UiServerOptions {
  dbPath: string;
  /** 0 picks a free port. */
  port: number;
  pollMs?: number;
  /** Live streams open at once (default DEFAULT_MAX_STREAMS); one more is answered 503. */
  maxStreams?: number;
}

/** A running explorer. */
export interface UiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Opens the database read-only, builds the page's script and starts listening on 127.0.0.1. */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const reader = openTraceReader(opts.dbPath);
  const q = reader.queries;
  const live = new LiveStreams(q, { pollMs: opts.pollMs ?? LIVE_POLL_MS, maxStreams: opts.maxStreams ?? DEFAULT_MAX_STREAMS });
  const script = await buildClient();
  const root = join(repoRoot(), "ui", "static");
  const assets = new Map(Object.entries(STATIC).map(([path, a]) => [path, { body: readFileSync(join(root, a.file)), type: a.type }]));
  assets.set("/app.js", { body: Buffer.from(script), type: "text/javascript; charset=utf-8" });
  let port = opts.port;

  const server = createServer((req, res) => {
    try {
      if (!allowedHost(req.headers.host, port)) return send(res, 421, { error: "this server answers only to 127.0.0.1 / localhost" });
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "read-only: GET only" });
      const url = parseUrl(req.url);
      if (!url)
        return send(res, 400, {
          error: `malformed URL ${JSON.stringify((req.url ?? "").slice(0, 200))}: expected a path such as /api/runs, with valid percent-encoding`,
        });
      const asset = assets.get(url.pathname);
      if (asset) {
        res.writeHead(200, {
          "content-type": asset.type,
          "content-security-policy": CSP,
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        });
        return res.end(req.method === "HEAD" ? undefined : asset.body);
      }
      if (url.pathname.startsWith("/api/")) return api(q, parseApiPath(url), req, res, live);
      send(res, 404, { error: `no such page: ${url.pathname}` });
    } catch (err) {
      if (err instanceof BadRequest) return send(res, 400, { error: err.message });
      send(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        live.endAll();
        server.close(() => {
          reader.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function api(q: TraceQueries, route: ApiRoute, req: IncomingMessage, res: ServerResponse, live: LiveStreams): void {
  switch (route.kind) {
    case "health":
      return send(res, 200, { ok: true });
    case "runs":
      return send(res, 200, q.listRuns());
    case "unknown":
      return send(res, 404, { error: `no such API: ${route.path}` });
  }
  const run = q.getRun(route.runId);
  if (!run) return send(res, 404, { error: `no run ${route.runId}` });
  switch (route.kind) {
    case "run":
      return send(res, 200, run);
    case "tree":
      return send(res, 200, treeBatch(q, run.id, route.since));
    case "best":
      return send(res, 200, q.bestSeries(run.id));
    case "node": {
      const data = nodePanel(q, run.id, route.node);
      return data ? send(res, 200, data) : send(res, 404, { error: `no node ${route.node} in run ${run.id}` });
    }
    case "live": {
      const refused = live.serve(run.id, route.since, req, res);
      if (refused) res.setHeader("retry-after", "10");
      return refused ? send(res, 503, { error: refused }) : undefined;
    }
  }
}

/** One node's detail with the diff against its parent's kernel; the node may be named by id or label. */
export function nodePanel(q: TraceQueries, runId: string, idOrLabel: string): NodePanelData | null {
  const node = q.getNode(idOrLabel, runId);
  if (!node) return null;
  const detail = q.nodeDetail(node.id)!;
  const parentLabel = node.parentId ? (q.getNode(node.parentId)?.label ?? null) : null;
  const diff =
    detail.kernel !== null && detail.parentKernel !== null
      ? kernelDiff(detail.parentKernel, detail.kernel, `${parentLabel}/kernel.py`, `${node.label}/kernel.py`)
      : null;
  return { detail, diff, parentLabel };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(json);
}

/** The request's URL, or null when it cannot be one (the server answers 400). */
function parseUrl(raw: string | undefined): URL | null {
  // Origin-form only ("/path?query"): "//host/..." would be read as another host's URL.
  if (!raw?.startsWith("/") || raw.startsWith("//")) return null;
  try {
    const url = new URL(raw, "http://127.0.0.1");
    decodeURIComponent(url.pathname); // throws on malformed percent-encoding anywhere in the path
    return url;
  } catch {
    return null;
  }
}

/** Refuses other Host names, so a web page elsewhere cannot read the trace through DNS rebinding. */
function allowedHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}
