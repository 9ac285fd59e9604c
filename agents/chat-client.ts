/**
 * A ModelClient for any OpenAI-compatible chat endpoint (DeepSeek, vLLM, SGLang, OpenRouter):
 * the retry loop around chat-attempt.ts, token accounting and cost.
 */
import OpenAI from "openai";
import { ConfigError, InfraError, ModelError, type ModelCallContext } from "../core/errors.ts";
import type { ModelLimits } from "../core/config.ts";
import { NO_REDACTION, type Redactor } from "../core/redact.ts";
import type { ChatRequest, ChatResponse, ModelClient, RetryRecord } from "./model-types.ts";
import { AttemptFailure, attemptChat, type AttemptLimits, type RawReply } from "./chat-attempt.ts";
import { backoffDelay, defaultRetryPolicy, type RetryPolicy } from "./retry.ts";
import { splitThink } from "./think.ts";
import { costOf } from "./pricing.ts";
import { readUsage } from "./usage.ts";
import { cappedFetch, SSE_BYTES_PER_CHAR } from "./reply-body.ts";
import { RETRY_REASON_CHARS } from "../core/limits.ts";

/** One endpoint, fully resolved. */
export interface Endpoint {
  provider: string;
  model: string;
  baseUrl: string;
  apiKey: string | undefined;
}

/** Tuning for tests: retry delays, limits other than the config's, and whether to ask for a stream. */
export interface ChatClientOptions {
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  idleTimeoutMs?: number;
  maxReplyChars?: number;
  /** Ask for SSE (default true); false exercises the plain JSON path. */
  stream?: boolean;
}

/** What the client needs besides the endpoint: the config's limits and the redactor of its secrets. */
export interface ChatClientSetup {
  limits: Pick<ModelLimits, "timeoutMs" | "idleTimeoutMs" | "maxReplyChars">;
  redactor?: Redactor;
}

/** The OpenAI-compatible ModelClient. */
export class ChatClient implements ModelClient {
  readonly provider: string;
  readonly model: string;
  // ES private (#) fields: neither console.log nor JSON.stringify of a client can reach the key.
  readonly #endpoint: Endpoint;
  readonly #sdk: OpenAI;
  readonly #policy: RetryPolicy;
  readonly #limits: AttemptLimits;
  readonly #redactor: Redactor;

  constructor(endpoint: Endpoint, setup: ChatClientSetup, opts: ChatClientOptions = {}) {
    this.#endpoint = endpoint;
    this.provider = endpoint.provider;
    this.model = endpoint.model;
    this.#policy = defaultRetryPolicy(opts.retry);
    this.#redactor = setup.redactor ?? NO_REDACTION;
    this.#limits = {
      timeoutMs: opts.timeoutMs ?? setup.limits.timeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs ?? setup.limits.idleTimeoutMs,
      maxReplyChars: opts.maxReplyChars ?? setup.limits.maxReplyChars,
      stream: opts.stream ?? true,
    };
    this.#sdk = new OpenAI({
      // Keyless local servers (vLLM without --api-key) still need a non-empty string for the SDK.
      apiKey: endpoint.apiKey ?? "no-key",
      baseURL: endpoint.baseUrl,
      maxRetries: 0, // the retry policy is ours, so attempts are counted and backoff is testable
      timeout: this.#limits.timeoutMs,
      logLevel: "off", // the SDK would print malformed chunks and request details to the console
      // Bounded in bytes as well as characters: one endless SSE line cannot fill memory before a chunk is parsed.
      fetch: cappedFetch(this.#limits.maxReplyChars * SSE_BYTES_PER_CHAR + 1024 * 1024),
    });
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    // The last chokepoint before the provider: no configured secret leaves in a prompt.
    const req: ChatRequest = { ...request, messages: request.messages.map((m) => ({ ...m, content: this.#redactor.text(m.content) })) };
    const started = performance.now();
    const retries: RetryRecord[] = [];
    let last: AttemptFailure | undefined;
    for (let attempt = 1; attempt <= this.#policy.maxAttempts; attempt++) {
      try {
        const raw = await attemptChat(this.#sdk, this.model, req, this.#limits);
        return { ...this.finish(raw, req, attempt, started), retries };
      } catch (err) {
        const failure = err instanceof AttemptFailure ? err : new AttemptFailure("retry-model", String(err), undefined, undefined, "internal");
        if (failure.kind === "aborted") throw req.signal?.reason ?? new Error("aborted");
        const record: RetryRecord = {
          attempt,
          ...(failure.status !== undefined ? { status: failure.status } : {}),
          errorClass: failure.errorClass ?? (failure.status !== undefined ? `HTTP ${failure.status}` : failure.kind),
          message: this.redact(failure.reason).slice(0, RETRY_REASON_CHARS),
        };
        retries.push(record);
        if (failure.kind === "config") throw this.configError(failure, retries);
        if (failure.kind === "model" || failure.kind === "too-large") throw this.modelError(failure, attempt, retries);
        last = failure;
        if (attempt === this.#policy.maxAttempts) break;
        const delayMs = backoffDelay(attempt, this.#policy, failure.retryAfterMs);
        record.delayMs = delayMs;
        req.onRetry?.({ attempt, delayMs, reason: this.redact(failure.reason) });
        await this.#policy.sleep(delayMs, req.signal);
      }
    }
    const failure = last!;
    const attempts = this.#policy.maxAttempts;
    if (failure.kind === "retry-model") throw this.modelError(failure, attempts, retries);
    throw new InfraError(`model endpoint ${this.#endpoint.baseUrl} failed ${attempts} attempts; last: ${this.redact(failure.reason)}`, {
      hint:
        this.provider === "deepseek"
          ? `check your network and https://status.deepseek.com; test with: curl ${this.#endpoint.baseUrl}/models -H "Authorization: Bearer $DEEPSEEK_API_KEY"`
          : `check the server is up and serving: curl ${this.#endpoint.baseUrl}/models (set KFORGE_BASE_URL to the right host:port/v1)`,
      context: { call: this.context(attempts, failure, retries) },
    });
  }

  /** Turns a raw reply into a ChatResponse, or throws an AttemptFailure for garbage worth a retry. */
  private finish(raw: RawReply, req: ChatRequest, attempts: number, started: number): ChatResponse {
    const inline = splitThink(raw.content);
    const reasoning = [raw.reasoning.trim(), inline.reasoning].filter(Boolean).join("\n\n");
    if (!inline.content) {
      if (raw.finishReason === "length")
        throw new AttemptFailure("model", "the reply hit max tokens before any answer (all reasoning): raise maxTokens");
      throw new AttemptFailure("retry-model", `empty reply (finish_reason ${raw.finishReason ?? "none"})`);
    }
    const usage = readUsage(raw.usage, req, inline.content, reasoning);
    const cost = costOf(this.model, usage);
    return {
      retries: [],
      content: inline.content,
      reasoning,
      provider: this.provider,
      model: this.model,
      usage,
      latencyMs: Math.round(performance.now() - started),
      costUsd: cost.usd,
      attempts,
      finishReason: raw.finishReason,
      ...(cost.note ? { costNote: cost.note } : {}),
    };
  }

  private configError(f: AttemptFailure, retries: RetryRecord[]): ConfigError {
    const keyVar = this.provider === "deepseek" ? "DEEPSEEK_API_KEY" : "KFORGE_API_KEY";
    const hint =
      f.status === 401 || f.status === 403
        ? `check ${keyVar} (the key was rejected by ${this.#endpoint.baseUrl})`
        : f.status === 402
          ? "top up the provider account, or point KFORGE_PROVIDER at another endpoint"
          : `check KFORGE_MODEL ("${this.model}") and the base URL (${this.#endpoint.baseUrl}); list models with: curl ${this.#endpoint.baseUrl}/models`;
    return new ConfigError(`model endpoint refused the request: ${this.redact(f.reason)}`, {
      hint,
      context: { call: this.context(retries.length, f, retries) },
    });
  }

  private modelError(f: AttemptFailure, attempts: number, retries: RetryRecord[]): ModelError {
    if (f.kind === "too-large") {
      return new ModelError(`model ${this.model}: ${this.redact(f.reason)}`, {
        code: "reply_too_large",
        hint: "raise KFORGE_MAX_REPLY_CHARS if such long replies are expected, or lower KFORGE_MAX_REPLY_TOKENS",
        context: this.context(attempts, f, retries),
      });
    }
    return new ModelError(`model ${this.model} gave no usable reply after ${attempts} attempt(s): ${this.redact(f.reason)}`, {
      code: f.kind === "model" ? "request_rejected" : "no_usable_reply",
      hint: "retry later; if it persists, try another model for this role (KFORGE_ROLE_MODELS)",
      context: this.context(attempts, f, retries),
    });
  }

  private context(attempts: number, f: AttemptFailure, retries: RetryRecord[]): ModelCallContext {
    return { provider: this.provider, model: this.model, baseUrl: this.#endpoint.baseUrl, attempts, status: f.status, retries };
  }

  /** Keys never leave this object: scrub them (and every configured secret) from anything a server echoes back. */
  private redact(text: string): string {
    const key = this.#endpoint.apiKey;
    const scrubbed = this.#redactor.text(text);
    return key && key.length >= 4 ? scrubbed.split(key).join("[redacted:api key]") : scrubbed;
  }
}
