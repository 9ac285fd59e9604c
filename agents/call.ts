/**
 * One model call of an agent, recorded in the trace as it happens (prompt, reasoning, answer,
 * tokens, latency, cost, attempts), successful or not. A model or endpoint failure comes back as a
 * value for the agent to turn into a recorded failure; only an abort (Ctrl-C, budget) is thrown.
 */
import { KforgeError } from "../core/errors.ts";
import type { LlmCallRecord } from "../memory/trace-types.ts";
import type { AgentRole, ChatMessage, ChatResponse, ModelClient } from "./model-types.ts";
import type { AgentCallContext } from "./types.ts";

/** What the LLM agents need: a client per role, where to record calls, and the GPU named in prompts. */
export interface LlmDeps {
  client(role: AgentRole): ModelClient;
  record(call: LlmCallRecord): void;
  gpu: string;
  maxTokens?: number;
}

/** A recorded call's reply, or why it failed (and who is to blame). */
export type CallResult = { ok: true; res: ChatResponse } | { ok: false; error: string; blame: string };

/** Renders messages as the one text stored as the call's prompt artifact. */
export function promptText(messages: ChatMessage[]): string {
  return messages.map((m) => `### ${m.role}\n${m.content}`).join("\n\n");
}

/** Calls the role's model and records the call; failures are returned, aborts rethrown. */
export async function callModel(deps: LlmDeps, role: AgentRole, messages: ChatMessage[], ctx: AgentCallContext): Promise<CallResult> {
  const client = deps.client(role);
  const base = { runId: ctx.runId, nodeId: ctx.nodeId, role, provider: client.provider, model: client.model, prompt: promptText(messages) };
  const started = performance.now();
  try {
    const res = await client.chat({ role, messages, ...(ctx.signal ? { signal: ctx.signal } : {}), ...(deps.maxTokens ? { maxTokens: deps.maxTokens } : {}) });
    deps.record({
      ...base, provider: res.provider, model: res.model, reasoning: res.reasoning, response: res.content,
      promptTokens: res.usage.promptTokens, completionTokens: res.usage.completionTokens, reasoningTokens: res.usage.reasoningTokens,
      latencyMs: res.latencyMs, costUsd: res.costUsd, attempts: res.attempts, finishReason: res.finishReason,
    });
    return { ok: true, res };
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    if (!(err instanceof KforgeError)) throw err; // our own bug: let it surface
    deps.record({ ...base, latencyMs: performance.now() - started, error: `${err.name}: ${err.message}` });
    return { ok: false, error: err.message, blame: err.blame };
  }
}
