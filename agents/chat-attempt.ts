/**
 * One HTTP attempt at a chat completion against an OpenAI-compatible endpoint: streams the reply,
 * captures reasoning in whichever form the server sends it, and turns every way it can go wrong
 * into a classified `AttemptFailure` for the retry loop in chat-client.ts.
 */
import type OpenAI from "openai";
import type { ChatRequest } from "./model-types.ts";
import { ThinkStream } from "./think.ts";
import { AttemptFailure, classify, errClass, errText } from "./attempt-failure.ts";
import { isBodyTooLarge, jsonBodyCap, readCappedText } from "./reply-body.ts";

/** What a successful attempt produced, before usage estimation and pricing. */
export interface RawReply {
  /** Content as sent, inline <think> blocks still in it. */
  content: string;
  /** Reasoning from a separate field (reasoning_content or reasoning). */
  reasoning: string;
  usage: Record<string, unknown> | undefined;
  finishReason: string | null;
}

/** Per-attempt limits. */
export interface AttemptLimits {
  /** The whole attempt, headers to last chunk. */
  timeoutMs: number;
  /** Longest silence between chunks (a hung server). */
  idleTimeoutMs: number;
  /** Answer + reasoning characters beyond which the reply is cut off (`too-large`, not retried). */
  maxReplyChars: number;
  stream: boolean;
}

export { AttemptFailure, type FailureKind } from "./attempt-failure.ts";

type Json = Record<string, unknown>;

/** Runs one attempt; resolves to a RawReply or rejects with an AttemptFailure. */
export async function attemptChat(client: OpenAI, model: string, req: ChatRequest, limits: AttemptLimits): Promise<RawReply> {
  const controller = new AbortController();
  let timedOut: string | undefined;
  const expire = (why: string) => {
    timedOut = why;
    controller.abort(new Error(why));
  };
  const total = setTimeout(() => expire(`no complete reply within ${limits.timeoutMs} ms`), limits.timeoutMs);
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => expire(`server silent for ${limits.idleTimeoutMs} ms`), limits.idleTimeoutMs);
  };
  const onUserAbort = () => controller.abort(req.signal?.reason);
  if (req.signal?.aborted) onUserAbort();
  req.signal?.addEventListener("abort", onUserAbort, { once: true });
  const interrupted = () =>
    timedOut !== undefined
      ? new AttemptFailure("retry-infra", `timed out: ${timedOut}`, undefined, undefined, "timeout")
      : new AttemptFailure("aborted", "aborted by caller");
  // The role header lets a gateway (or the scripted test server) tell the agents apart.
  const options = { signal: controller.signal, headers: { "x-kforge-role": req.role } };
  touch();
  try {
    const body = {
      model,
      messages: req.messages,
      ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    };
    if (!limits.stream) {
      const response = await client.chat.completions.create({ ...body, stream: false }, options).asResponse();
      return fromCompletion(await cappedJson(response, limits.maxReplyChars), req, limits.maxReplyChars);
    }
    const { data: stream, response } = await client.chat.completions
      .create({ ...body, stream: true, stream_options: { include_usage: true } }, options)
      .withResponse();
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream")) {
      // The server ignored `stream: true` and answered with one JSON body.
      let parsed: Json;
      try {
        parsed = await cappedJson(response, limits.maxReplyChars);
      } catch (err) {
        if (err instanceof AttemptFailure) throw err;
        if (controller.signal.aborted) throw interrupted();
        throw new AttemptFailure(
          "retry-model",
          `reply is neither SSE nor JSON (content-type "${type}"): ${errText(err)}`,
          undefined,
          undefined,
          errClass(err),
        );
      }
      return fromCompletion(parsed, req, limits.maxReplyChars);
    }
    const out: RawReply = { content: "", reasoning: "", usage: undefined, finishReason: null };
    const think = new ThinkStream();
    for await (const chunk of stream) {
      touch();
      const c = chunk as unknown as Json;
      if (c["usage"] && typeof c["usage"] === "object") out.usage = c["usage"] as Json;
      const choice = (c["choices"] as Json[] | undefined)?.[0];
      if (!choice) continue;
      const delta = (choice["delta"] ?? {}) as Json;
      const reasoning = pickReasoning(delta);
      if (reasoning) {
        out.reasoning += reasoning;
        req.onDelta?.({ reasoning });
      }
      if (typeof delta["content"] === "string" && delta["content"]) {
        out.content += delta["content"];
        emit(req, think.push(delta["content"]));
      }
      if (typeof choice["finish_reason"] === "string") out.finishReason = choice["finish_reason"];
      if (out.content.length + out.reasoning.length > limits.maxReplyChars) {
        // Cut the stream now: nothing past the cap is read, kept or forwarded.
        controller.abort(new Error("reply too large"));
        throw tooLarge(limits.maxReplyChars, "streamed");
      }
    }
    emit(req, think.end());
    // The SDK ends iteration quietly when aborted: distinguish that from a clean end.
    if (controller.signal.aborted) throw interrupted();
    if (out.finishReason === null)
      throw new AttemptFailure("retry-infra", "stream ended without a finish_reason (truncated reply)", undefined, undefined, "truncated stream");
    return out;
  } catch (err) {
    if (err instanceof AttemptFailure) throw err;
    if (isBodyTooLarge(err)) throw tooLarge(limits.maxReplyChars, "streamed");
    if (controller.signal.aborted) throw interrupted();
    throw classify(err);
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
    req.signal?.removeEventListener("abort", onUserAbort);
  }
}

function emit(req: ChatRequest, part: { content: string; reasoning: string }): void {
  if (!req.onDelta) return;
  if (part.reasoning) req.onDelta({ reasoning: part.reasoning });
  if (part.content) req.onDelta({ content: part.content });
}

/** DeepSeek sends `reasoning_content`; vLLM (newer) and OpenRouter send `reasoning`. */
function pickReasoning(obj: Json): string {
  const value = obj["reasoning_content"] ?? obj["reasoning"];
  return typeof value === "string" ? value : "";
}

/** A reply past the cap: data for the trace, never retried (the same prompt would likely do it again). */
function tooLarge(maxChars: number, how: string): AttemptFailure {
  return new AttemptFailure("too-large", `reply_too_large: the ${how} reply passed ${maxChars} characters (KFORGE_MAX_REPLY_CHARS) and was cut off`);
}

/** Reads a JSON body of at most the cap's bytes. */
async function cappedJson(response: Response, maxChars: number): Promise<Json> {
  const text = await readCappedText(response, jsonBodyCap(maxChars));
  if (text === null) throw tooLarge(maxChars, "JSON");
  return JSON.parse(text) as Json;
}

function fromCompletion(completion: Json, req: ChatRequest, maxChars: number): RawReply {
  const choice = (completion?.["choices"] as Json[] | undefined)?.[0];
  const message = choice?.["message"] as Json | undefined;
  if (!message) throw new AttemptFailure("retry-model", "reply JSON has no choices[0].message");
  const content = typeof message["content"] === "string" ? message["content"] : "";
  const reasoning = pickReasoning(message);
  if (content.length + reasoning.length > maxChars) throw tooLarge(maxChars, "JSON");
  if (req.onDelta) {
    if (reasoning) req.onDelta({ reasoning });
    const think = new ThinkStream();
    emit(req, think.push(content));
    emit(req, think.end());
  }
  const usage = completion["usage"];
  return {
    content,
    reasoning,
    usage: usage && typeof usage === "object" ? (usage as Json) : undefined,
    finishReason: typeof choice?.["finish_reason"] === "string" ? (choice["finish_reason"] as string) : null,
  };
}
