/**
 * The explorer's live updates: Server-Sent Events, a `tree` event with each batch of new or changed
 * nodes, polled from the database. Open streams are capped, since each one polls the file: a page
 * opened in many tabs (or a runaway script) gets a clear refusal instead of slowing the search.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TraceQueries } from "../memory/trace-queries.ts";
import { treeBatch } from "./trace-view.ts";

/** How often a live stream looks for new or changed nodes. */
export const LIVE_POLL_MS = 1000;
/** Live streams open at once by default. */
export const DEFAULT_MAX_STREAMS = 16;
/** A comment line this often keeps proxies and the browser from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** The open streams of one server. */
export class LiveStreams {
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly q: TraceQueries,
    private readonly opts: { pollMs: number; maxStreams: number },
  ) {}

  /** Starts streaming run `runId` from cursor `since`; returns why it refused (the server answers 503) or null. */
  serve(runId: string, since: number, req: IncomingMessage, res: ServerResponse): string | null {
    if (this.open.size >= this.opts.maxStreams) {
      return `too many live streams: ${this.open.size} are open, the limit is ${this.opts.maxStreams}; close other tabs of this page, or restart with kforge ui --max-streams N`;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(`retry: 2000\n\n`);
    this.open.add(res);
    let cursor = since;
    let lastRun = "";
    let lastWrite = Date.now();
    const tick = () => {
      try {
        const batch = treeBatch(this.q, runId, cursor);
        const runKey = JSON.stringify(batch.run);
        if (batch.nodes.length || runKey !== lastRun) {
          res.write(`event: tree\ndata: ${JSON.stringify(batch)}\n\n`);
          cursor = batch.cursor;
          lastRun = runKey;
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite > KEEPALIVE_MS) {
          res.write(`: keepalive\n\n`);
          lastWrite = Date.now();
        }
      } catch (err) {
        res.write(`event: problem\ndata: ${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n\n`);
      }
    };
    tick();
    const timer = setInterval(tick, this.opts.pollMs);
    const stop = () => {
      clearInterval(timer);
      this.open.delete(res);
    };
    req.on("close", stop);
    res.on("close", stop);
    return null;
  }

  /** Ends every open stream (the server is closing). */
  endAll(): void {
    for (const res of this.open) res.end();
  }
}
