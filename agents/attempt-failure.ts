/**
 * How one attempt at a chat completion failed, classified for the retry loop (retried or not, whose
 * fault), with what the trace keeps about it: the HTTP status and the error's class.
 */
import { APIError, APIConnectionError } from "openai";
import { parseRetryAfter } from "./retry.ts";

/** How an attempt failed: `retry-*` kinds are retried, the rest end the call at once. */
export type FailureKind = "retry-infra" | "retry-model" | "config" | "model" | "too-large" | "aborted";

/** A classified failure of one attempt; `reason` is safe to show (no secrets). */
export class AttemptFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly reason: string,
    readonly retryAfterMs?: number,
    readonly status?: number,
    /** The class of the underlying error (APIConnectionError, SyntaxError, ...), for the trace. */
    readonly errorClass?: string,
  ) {
    super(reason);
  }
}

/** Maps SDK and network errors to failure kinds. */
export function classify(err: unknown): AttemptFailure {
  if (err instanceof APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause;
    return new AttemptFailure("retry-infra", `connection failed: ${errText(cause ?? err)}`, undefined, undefined, errClass(cause ?? err));
  }
  if (err instanceof APIError) {
    const status = err.status;
    const detail = err.message;
    if (status === undefined) return new AttemptFailure("retry-infra", `server sent an error mid-stream: ${detail}`);
    if (status === 401 || status === 403) return new AttemptFailure("config", `HTTP ${status} (key rejected): ${detail}`, undefined, status);
    if (status === 402) return new AttemptFailure("config", `HTTP 402 (account has no balance): ${detail}`, undefined, status);
    if (status === 404) return new AttemptFailure("config", `HTTP 404 (unknown model or wrong base URL): ${detail}`, undefined, status);
    if (status === 400 && /model.*(not exist|not found|does not exist)/i.test(detail))
      return new AttemptFailure("config", `HTTP 400 (unknown model): ${detail}`, undefined, status);
    if (status === 429 || status === 408 || status === 409 || status >= 500)
      return new AttemptFailure("retry-infra", `HTTP ${status}: ${detail}`, parseRetryAfter(err.headers), status);
    return new AttemptFailure("model", `HTTP ${status} (request rejected): ${detail}`, undefined, status);
  }
  if (err instanceof SyntaxError)
    return new AttemptFailure("retry-model", `malformed chunk in stream: ${err.message}`, undefined, undefined, "SyntaxError");
  // undici reports a socket destroyed mid-body as TypeError("terminated") with a cause.
  return new AttemptFailure("retry-infra", `connection dropped: ${errText(err)}`, undefined, undefined, errClass(err));
}

/** "APIConnectionError", "TypeError (ECONNREFUSED)": what the trace shows as a retry's error class. */
export function errClass(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  const code = (err as { code?: unknown }).code;
  return `${err.constructor.name}${typeof code === "string" ? ` (${code})` : ""}`;
}

/** An error and its causes in one line, with system error codes. */
export function errText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: unknown }).code;
  const own = `${err.message}${typeof code === "string" ? ` (${code})` : ""}`;
  return cause instanceof Error && cause.message !== err.message ? `${own}: ${errText(cause)}` : own;
}
