/**
 * The pre-flight check of a search's model endpoints, before any run is created: one small request
 * per endpoint (GET /models, or a one-token chat completion where the server has no /models), and
 * a ConfigError naming the URL, the model and what answered when the endpoint cannot serve the search.
 */
import type { Config } from "../core/config.ts";
import { ConfigError } from "../core/errors.ts";
import { createRedactor } from "../core/redact.ts";
import type { Endpoint } from "./chat-client.ts";
import { searchEndpoints } from "./model.ts";
import { readCappedText } from "./reply-body.ts";
import { QUOTED_ANSWER_CHARS } from "../core/limits.ts";

/** The most of an answer the check reads (a model list of a big gateway fits easily). */
const PREFLIGHT_BODY_BYTES = 1024 * 1024;

/** What was wrong with an endpoint, and a sentence saying what it answered. */
export interface Refusal {
  kind: "unreachable" | "key" | "model" | "not_api" | "http";
  text: string;
}

/** Checks every endpoint the search will call; resolves when all answer, throws ConfigError for the first that does not. */
export async function preflightModels(config: Config): Promise<void> {
  const redactor = createRedactor(config.secrets);
  for (const e of searchEndpoints(config)) {
    const refusal = await checkEndpoint(e, config.modelLimits.preflightTimeoutMs);
    if (refusal === null) continue;
    const answer = redactor.text(refusal.text);
    throw new ConfigError(`model endpoint ${e.baseUrl} (model "${e.model}") cannot serve the search: ${answer}`, {
      hint: redactor.text(hintFor(refusal, e)),
      context: { call: { provider: e.provider, model: e.model, baseUrl: e.baseUrl }, refusal: { kind: refusal.kind, answer } },
    });
  }
}

function hintFor(r: Refusal, e: Endpoint): string {
  switch (r.kind) {
    case "key":
      return `check ${e.provider === "deepseek" ? "DEEPSEEK_API_KEY" : "KFORGE_API_KEY"}: the server rejected the key`;
    case "model":
      return `set KFORGE_MODEL to a served model (list them: curl ${e.baseUrl}/models), and check the base URL ends in /v1`;
    case "not_api":
      return "the URL answers, but not as an OpenAI-compatible API: point KFORGE_BASE_URL at the API root (usually .../v1)";
    default:
      return `check the server is up and reachable from here: curl ${e.baseUrl}/models (or unset KFORGE_PROVIDER/KFORGE_BASE_URL to search offline)`;
  }
}

/** One endpoint: GET /models first (free), then a one-token completion if /models does not settle it; null when it can serve. */
export async function checkEndpoint(e: Endpoint, timeoutMs: number): Promise<Refusal | null> {
  const headers: Record<string, string> = { accept: "application/json", ...(e.apiKey ? { authorization: `Bearer ${e.apiKey}` } : {}) };
  const models = await request(`${e.baseUrl}/models`, { method: "GET", headers }, timeoutMs);
  if (typeof models === "string") return { kind: "unreachable", text: models };
  if (models.status === 401 || models.status === 403)
    return { kind: "key", text: `HTTP ${models.status} on GET /models: the key was rejected (${models.detail})` };
  if (models.status === 200 && models.json === null) return { kind: "not_api", text: `GET /models answered ${models.detail}` };
  if (models.status === 200) {
    const ids = listedModels(models.json);
    if (ids === null || ids.includes(e.model)) return null;
    // Some gateways list aliases only: a completion settles it.
  }
  const body = JSON.stringify({ model: e.model, messages: [{ role: "user", content: "ping" }], max_tokens: 1, stream: false });
  const chat = await request(
    `${e.baseUrl}/chat/completions`,
    { method: "POST", headers: { ...headers, "content-type": "application/json" }, body },
    timeoutMs,
  );
  if (typeof chat === "string") return { kind: "unreachable", text: chat };
  if (chat.json === null) return { kind: "not_api", text: `a chat completion answered HTTP ${chat.status} with ${chat.detail}` };
  if (chat.status === 200 && Array.isArray((chat.json as { choices?: unknown }).choices)) return null;
  if (chat.status === 401 || chat.status === 403) return { kind: "key", text: `HTTP ${chat.status}: the key was rejected (${chat.detail})` };
  if (chat.status === 404 || (chat.status === 400 && /model/i.test(chat.detail)))
    return { kind: "model", text: `model "${e.model}" not found (HTTP ${chat.status}: ${chat.detail})` };
  return { kind: "http", text: `a chat completion answered HTTP ${chat.status} (${chat.detail})` };
}

interface Answer {
  status: number;
  json: unknown;
  /** A short account of the body: the server's error message, or what kind of body it was. */
  detail: string;
}

/** One request; a string says why no HTTP answer came (connection refused, DNS, timeout). */
async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Answer | string> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
  } catch (err) {
    return `no answer from ${url}: ${why(err, timeoutMs)}`;
  }
  const type = res.headers.get("content-type") ?? "";
  // A short answer is all a check needs; a server streaming more is not read past the cap.
  const text = (await readCappedText(res, PREFLIGHT_BODY_BYTES).catch(() => "")) ?? "";
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    const kind =
      /html/i.test(type) || /^\s*<(!doctype|html)/i.test(text) ? "an HTML page" : `a body that is not JSON (content-type "${type || "none"}")`;
    return { status: res.status, json: null, detail: `${kind}, not JSON` };
  }
  const message = (json as { error?: { message?: unknown } | string })?.error;
  const detail = typeof message === "string" ? message : typeof message?.message === "string" ? message.message : "JSON";
  return { status: res.status, json, detail: detail.slice(0, QUOTED_ANSWER_CHARS) };
}

function listedModels(json: unknown): string[] | null {
  const data = (json as { data?: unknown }).data;
  if (!Array.isArray(data)) return null;
  return data.map((m) => (m as { id?: unknown }).id).filter((id): id is string => typeof id === "string");
}

function why(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === "string" ? cause.code : "";
  if (code === "ECONNREFUSED") return "connection refused (nothing listens there)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
  return `${code ? `${code}: ` : ""}${typeof cause?.message === "string" ? cause.message : String(err)}`;
}
