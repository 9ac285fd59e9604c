/**
 * A real OpenAI-compatible HTTP server on loopback, answering from a script (README.md beside this file): the edge that tests
 * (and whole scripted searches) replace the model with. Also runs standalone:
 *   npx tsx tools/scripted-server/server.ts --script FILE.json [--port N] [--log requests.jsonl]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { appendFileSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ScriptRunner, type RecordedRequest, type Script, type ScriptedReply } from "./script.ts";

export type { RecordedRequest, Script, ScriptedReply, ScriptRoute, RouteMatch } from "./script.ts";

/** A running scripted server. */
export interface ScriptedServer {
  /** e.g. http://127.0.0.1:41234/v1 — give it to the client as the base URL. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every request received, in order (chat completions and /models). */
  readonly requests: RecordedRequest[];
  /** Chat requests that found no scripted reply (answered 400). */
  readonly unscripted: RecordedRequest[];
  push(...replies: ScriptedReply[]): void;
  setScript(script: Script): void;
  remaining(): number;
  /** Stops listening and cuts open connections (so a later call finds a dead port). */
  close(): Promise<void>;
}

/** Options of `startScriptedServer`. */
export interface ScriptedServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Model ids listed by GET /v1/models. */
  models?: string[];
  /** Called with each recorded request (the CLI logs them). */
  onRequest?: (req: RecordedRequest) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const estimate = (s: string) => Math.ceil(s.length / 4);

/** Starts a scripted server on 127.0.0.1. */
export async function startScriptedServer(script: Script = [], opts: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const runner = new ScriptRunner(script);
  const requests: RecordedRequest[] = [];
  const unscripted: RecordedRequest[] = [];
  const models = opts.models ?? ["scripted-model"];

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `scripted-server bug: ${String(err)}` } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    const raw = await readBody(req);
    if (req.method === "GET" && /^(\/v1)?\/models$/.test(path)) {
      record(req, path, {});
      return json(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", owned_by: "scripted" })) });
    }
    if (req.method !== "POST" || !/^(\/v1)?\/chat\/completions$/.test(path))
      return json(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: "request body is not JSON" } });
    }
    const rec = record(req, path, body);
    const reply = await runner.pick(rec);
    if (!reply) {
      unscripted.push(rec);
      return json(res, 400, { error: { message: `scripted-server: no scripted reply left for request #${rec.index} (role ${rec.role ?? "?"})` } });
    }
    await answer(rec, reply, res);
  }

  function record(req: IncomingMessage, path: string, body: Record<string, unknown>): RecordedRequest {
    const messages = Array.isArray(body["messages"]) ? (body["messages"] as { role: string; content: string }[]) : [];
    const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : undefined);
    const rec: RecordedRequest = {
      index: requests.length,
      method: req.method ?? "",
      path,
      model: typeof body["model"] === "string" ? body["model"] : undefined,
      stream: body["stream"] === true,
      includeUsage: (body["stream_options"] as { include_usage?: boolean } | undefined)?.include_usage === true,
      messages,
      system: messages.find((m) => m.role === "system")?.content ?? "",
      lastUser: [...messages].reverse().find((m) => m.role === "user")?.content ?? "",
      role: header("x-kforge-role"),
      authorization: header("authorization"),
      maxTokens: typeof body["max_tokens"] === "number" ? body["max_tokens"] : undefined,
      body,
    };
    requests.push(rec);
    opts.onRequest?.(rec);
    return rec;
  }

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, "127.0.0.1", () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    unscripted,
    push: (...r) => runner.push(...r),
    setScript: (s) => runner.set(s),
    remaining: () => runner.remaining(),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

/** Writes one scripted reply: an error, a JSON completion, or an SSE stream with the scripted faults. */
async function answer(rec: RecordedRequest, reply: ScriptedReply, res: ServerResponse): Promise<void> {
  if (reply.delayMs) await sleep(reply.delayMs);
  if (reply.dropConnection) return void res.socket?.destroy();
  if (reply.status !== undefined && reply.status >= 400) {
    const headers: Record<string, string> = reply.retryAfter !== undefined ? { "retry-after": String(reply.retryAfter) } : {};
    const message = reply.errorMessage ?? `scripted HTTP ${reply.status}`;
    return json(res, reply.status, { error: { message, type: "scripted_error", code: reply.status } }, headers);
  }
  const content = reply.content ?? "";
  const reasoning = reply.reasoning ?? "";
  const as = reply.reasoningAs ?? "reasoning_content";
  const inline = as === "think" && reasoning ? `<think>${reasoning}</think>` : "";
  const finish = reply.finishReason === undefined ? "stop" : reply.finishReason;
  const usage = usageOf(rec, reply, content, reasoning);
  const base = { id: `chatcmpl-scripted-${rec.index}`, created: Math.floor(Date.now() / 1000), model: rec.model ?? "scripted-model" };

  if (!rec.stream || reply.ignoreStream) {
    const message: Record<string, unknown> = { role: "assistant", content: inline + content };
    if (reasoning && as !== "think") message[as] = reasoning;
    return json(res, 200, {
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message, finish_reason: finish }],
      ...(usage ? { usage } : {}),
    });
  }

  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const size = Math.max(1, reply.chunkChars ?? 24);
  const deltas: Record<string, unknown>[] = [{ role: "assistant", content: "" }];
  const field = as === "think" ? "content" : as;
  for (const part of split(as === "think" ? inline : reasoning, size)) deltas.push({ [field]: part });
  for (const part of split(content, size)) deltas.push({ content: part });
  let sent = 0;
  // Wait for each write to reach the socket, so a scripted drop happens after the client saw data.
  const write = (data: string) => new Promise<void>((ok) => res.write(`data: ${data}\n\n`, () => ok()));
  for (const delta of deltas) {
    if (sent === reply.truncateAfterChunks) return void res.socket?.destroy();
    if (sent === reply.malformedAfterChunks) await write(`{"id": "${base.id}", "choices": [{"delta": {"content": "oops`);
    if (sent === reply.errorAfterChunks) await write(JSON.stringify({ error: { message: "scripted mid-stream error", type: "server_error" } }));
    if (sent > 0 && reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    if (res.destroyed) return;
    await write(JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: null }] }));
    sent++;
  }
  if (finish !== null)
    await write(JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: finish }] }));
  if (usage && rec.includeUsage) await write(JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage }));
  if (finish !== null) await write("[DONE]");
  res.end();
}

function split(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function usageOf(rec: RecordedRequest, reply: ScriptedReply, content: string, reasoning: string): Record<string, unknown> | undefined {
  if (reply.usage === false) return undefined;
  const u =
    typeof reply.usage === "object"
      ? reply.usage
      : {
          prompt_tokens: estimate(rec.messages.map((m) => m.content).join("")),
          completion_tokens: estimate(content + reasoning),
          reasoning_tokens: estimate(reasoning),
        };
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    completion_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
    ...("cached_tokens" in u && u.cached_tokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cached_tokens } } : {}),
  };
}

/** Loads a JSON script file; `contentFile` paths are resolved against the file's folder. */
export function loadScriptFile(file: string): Script {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as Script;
  const dir = dirname(resolve(file));
  const inline = (r: ScriptedReply): ScriptedReply => (r.contentFile ? { ...r, content: readFileSync(resolve(dir, r.contentFile), "utf8") } : r);
  if (Array.isArray(parsed)) return parsed.map(inline);
  if (typeof parsed === "object" && parsed && "routes" in parsed)
    return {
      routes: parsed.routes.map((r) => ({ ...r, replies: r.replies.map(inline) })),
      ...(parsed.fallback ? { fallback: inline(parsed.fallback) } : {}),
    };
  throw new Error(`${file}: a script is a JSON array of replies or {"routes": [...], "fallback"?: {...}}`);
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const file = arg("--script");
  if (!file) throw new Error("usage: npx tsx tools/scripted-server/server.ts --script FILE.json [--port N] [--log FILE.jsonl] [--models ID,ID]");
  const log = arg("--log");
  const models = arg("--models"); // what GET /models lists: kforge's pre-flight checks the configured model is served
  const server = await startScriptedServer(loadScriptFile(file), {
    port: Number(arg("--port") ?? 0),
    ...(models ? { models: models.split(",").filter(Boolean) } : {}),
    ...(log
      ? { onRequest: (r) => appendFileSync(log, JSON.stringify({ ...r, authorization: r.authorization ? "present" : undefined }) + "\n") }
      : {}),
  });
  console.log(`scripted server listening on ${server.baseUrl}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(String(err instanceof Error ? err.message : err));
    process.exit(2);
  });
}
