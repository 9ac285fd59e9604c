/**
 * The pre-flight check of a search's model endpoints, before any run is created: one small request
 * per endpoint (GET /models, or a one-token chat completion where the server has no /models), and
 * a ConfigError naming the URL, the model and what answered when the endpoint cannot serve the search.
 */
import type { Config } from "../core/config.ts";
import { ConfigError } from "../core/errors.ts";
import { createRedactor, type Redactor } from "../core/redact.ts";
import type { Endpoint } from "./chat-client.ts";
import { searchEndpoints } from "./model.ts";

/** A sentence saying what the endpoint answered, or null when it can serve the model. */
type Verdict = string | null;

/** Checks every endpoint the search will call; resolves when all answer, throws ConfigError for the first that does not. */
export async function preflightModels(config: Config): Promise<void> {
  const redactor = createRedactor(config.secrets);
  for (const e of searchEndpoints(config)) {
    const verdict = await checkEndpoint(e, config.modelLimits.preflightTimeoutMs);
    if (verdict === null) continue;
    const keyVar = e.provider === "deepseek" ? "DEEPSEEK_API_KEY" : "KFORGE_API_KEY";
    throw new ConfigError(redactor.text(`model endpoint ${e.baseUrl} (model "${e.model}") cannot serve the search: ${verdict}`), {
      hint: hintFor(verdict, e, keyVar, redactor),
      context: { baseUrl: e.baseUrl, model: e.model, answer: redactor.text(verdict) },
    });
  }
}

function hintFor(verdict: string, e: Endpoint, keyVar: string, r: Redactor): string {
  if (/401|403/.test(verdict)) return `check ${keyVar}: the server rejected the key`;
  if (/not served|404/.test(verdict)) return r.text(`set KFORGE_MODEL to a served model (list them: curl ${e.baseUrl}/models), and check the base URL ends in /v1`);
  if (/HTML|not JSON/.test(verdict)) return "the URL answers, but not as an OpenAI-compatible API: point KFORGE_BASE_URL at the API root (usually .../v1)";
  return `check the server is up and reachable from here: curl ${e.baseUrl}/models (or unset KFORGE_PROVIDER/KFORGE_BASE_URL to search offline)`;
}

/** One endpoint: GET /models first (free), then a one-token completion if /models is missing. */
export async function checkEndpoint(e: Endpoint, timeoutMs: number): Promise<Verdict> {
  const headers: Record<string, string> = { accept: "application/json", ...(e.apiKey ? { authorization: `Bearer ${e.apiKey}` } : {}) };
  const models = await request(`${e.baseUrl}/models`, { method: "GET", headers }, timeoutMs);
  if (typeof models === "string") return models;
  if (models.status === 200 && models.json) {
    const ids = listedModels(models.json);
    if (ids === null || ids.includes(e.model)) return null;
    // Some gateways list aliases only: a completion settles it.
  } else if (models.status === 401 || models.status === 403) {
    return `HTTP ${models.status} on GET /models: the key was rejected (${models.detail})`;
  } else if (models.status === 200) {
    return `GET /models answered ${models.detail}`;
  }
  const body = JSON.stringify({ model: e.model, messages: [{ role: "user", content: "ping" }], max_tokens: 1, stream: false });
  const chat = await request(`${e.baseUrl}/chat/completions`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body }, timeoutMs);
  if (typeof chat === "string") return chat;
  if (chat.status === 200 && chat.json && Array.isArray((chat.json as { choices?: unknown }).choices)) return null;
  if (chat.status === 200) return `a chat completion answered ${chat.detail}`;
  if (chat.status === 404 || (chat.status === 400 && /model/i.test(chat.detail))) return `model "${e.model}" not found (HTTP ${chat.status}: ${chat.detail})`;
  if (chat.status === 401 || chat.status === 403) return `HTTP ${chat.status}: the key was rejected (${chat.detail})`;
  return `a chat completion answered HTTP ${chat.status} (${chat.detail})`;
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
  const text = (await res.text().catch(() => "")).slice(0, 64 * 1024);
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    const kind = /html/i.test(type) || /^\s*<(!doctype|html)/i.test(text) ? "an HTML page" : `a body that is not JSON (content-type "${type || "none"}")`;
    return { status: res.status, json: null, detail: `${kind}, not JSON` };
  }
  const message = (json as { error?: { message?: unknown } | string })?.error;
  const detail = typeof message === "string" ? message : typeof message?.message === "string" ? message.message : "JSON";
  return { status: res.status, json, detail: detail.slice(0, 300) };
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
