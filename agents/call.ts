/**
 * One model call of an agent, recorded in the trace as it happens (prompt, reasoning, answer,
 * tokens, latency, cost, attempts and why each retry happened), successful or not. Before it goes
 * out, the call passes the endpoint's circuit breaker and reserves its share of the run's budgets.
 * A model or endpoint failure, or a refused reservation, comes back as a value for the agent to turn
 * into a recorded failure; only an abort (Ctrl-C, budget) or an unreachable endpoint is thrown.
 */
import { ConfigError, InfraError, KforgeError, modelCallOf } from "../core/errors.ts";
import type { LlmCallRecord } from "../memory/trace-types.ts";
import type { AgentRole, ChatMessage, ChatResponse, ModelClient } from "./model-types.ts";
import type { AgentCallContext } from "./types.ts";
import type { EndpointBreaker } from "./breaker.ts";
import type { SpendGate } from "./spend-gate.ts";

/** What the LLM agents need: a client per role, where to record calls, and the GPU named in prompts. */
export interface LlmDeps {
  client(role: AgentRole): ModelClient;
  record(call: LlmCallRecord): void;
  gpu: string;
  /** max_tokens of every call (the budgets reserve this much per call in flight). */
  maxTokens?: number;
  /** The run's token and money budgets (absent: unlimited). */
  spend?: SpendGate;
  /** The circuit breaker of the role's endpoint (absent: calls are never held back). */
  breaker?: (role: AgentRole) => EndpointBreaker;
}

/** A recorded call's reply, or why it failed: who is to blame, and whether the endpoint itself failed. */
export type CallResult = { ok: true; res: ChatResponse } | { ok: false; error: string; blame: string; endpoint: boolean };

/** Renders messages as the one text stored as the call's prompt artifact. */
export function promptText(messages: ChatMessage[]): string {
  return messages.map((m) => `### ${m.role}\n${m.content}`).join("\n\n");
}

/** Calls the role's model and records the call; failures are returned, aborts and an unreachable endpoint rethrown. */
export async function callModel(deps: LlmDeps, role: AgentRole, messages: ChatMessage[], ctx: AgentCallContext): Promise<CallResult> {
  const client = deps.client(role);
  const prompt = promptText(messages);
  const base = { runId: ctx.runId, nodeId: ctx.nodeId, role, provider: client.provider, model: client.model, prompt };
  const pass = deps.breaker ? await deps.breaker(role).admit(ctx.signal) : undefined;
  const reservation = deps.spend?.reserve({ model: client.model, promptChars: prompt.length, maxTokens: deps.maxTokens ?? 0 });
  if (reservation && "refused" in reservation) {
    pass?.done("unknown");
    deps.record({ ...base, attempts: 0, error: `${reservation.refused}: ${reservation.message}` });
    return { ok: false, error: `${reservation.refused}: ${reservation.message}`, blame: "budget", endpoint: false };
  }
  const started = performance.now();
  try {
    const res = await client.chat({
      role,
      messages,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(deps.maxTokens ? { maxTokens: deps.maxTokens } : {}),
    });
    pass?.done("up");
    deps.record({
      ...base,
      provider: res.provider,
      model: res.model,
      reasoning: res.reasoning,
      response: res.content,
      promptTokens: res.usage.promptTokens,
      completionTokens: res.usage.completionTokens,
      reasoningTokens: res.usage.reasoningTokens,
      latencyMs: res.latencyMs,
      costUsd: res.costUsd,
      attempts: res.attempts,
      finishReason: res.finishReason,
      retries: res.retries,
    });
    return { ok: true, res };
  } catch (err) {
    if (ctx.signal?.aborted) {
      pass?.done("unknown");
      throw ctx.signal.reason; // the run is stopping (Ctrl-C, deadline, dead endpoint): end like every other task
    }
    if (!(err instanceof KforgeError)) {
      pass?.done("unknown");
      throw err; // our own bug: let it surface
    }
    // The endpoint failed (down, timing out, refusing the key or model); a model's garbage means it is up.
    const endpoint = err instanceof InfraError || err instanceof ConfigError;
    pass?.done(endpoint ? "down" : "up", err.message.slice(0, 200));
    const retries = modelCallOf(err)?.retries ?? [];
    const code = "code" in err && !err.message.includes(String(err.code)) ? `${String(err.code)}: ` : "";
    deps.record({
      ...base,
      latencyMs: performance.now() - started,
      error: `${err.name}: ${err.message}`,
      attempts: Math.max(1, retries.length),
      retries,
    });
    return { ok: false, error: `${code}${err.message}`, blame: err.blame, endpoint };
  } finally {
    if (reservation && !("refused" in reservation)) reservation.release();
  }
}
