/** The model client as the agents see it. `agents/model.ts` is the one place a model is chosen. */

export type AgentRole = "planner" | "coder" | "critic" | "profiler";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  role: AgentRole;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
  /** Streaming callback: called with each content/reasoning delta as it arrives. */
  onDelta?: (delta: { content?: string; reasoning?: string }) => void;
  /** Called before a retry: deltas already streamed to onDelta belong to a failed attempt and restart. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** One failed attempt of a call, kept so the trace says why it was retried (or given up). */
export interface RetryRecord {
  attempt: number;
  /** HTTP status when the server answered one. */
  status?: number;
  /** "HTTP 503", "APIConnectionError (ECONNREFUSED)", "timeout", "SyntaxError"... */
  errorClass: string;
  message: string;
  /** The wait before the next attempt (absent for the last one). */
  delayMs?: number;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** Prompt tokens served from the provider's cache (billed cheaper), when reported. */
  cachedPromptTokens?: number;
  /** True when the server sent no usage and the counts were estimated from text length. */
  estimated?: boolean;
}

export interface ChatResponse {
  /** The answer text, with any inline <think>...</think> removed. */
  content: string;
  /** Reasoning text, from reasoning_content, reasoning, or inline <think> tags ("" when none). */
  reasoning: string;
  provider: string;
  model: string;
  usage: ChatUsage;
  latencyMs: number;
  costUsd: number;
  /** How many HTTP attempts it took (1 = no retry). */
  attempts: number;
  finishReason: string | null;
  /** Why costUsd may be wrong (e.g. a model missing from the price table), when it may be. */
  costNote?: string;
  /** The failed attempts before this reply, in order (empty when the first attempt answered). */
  retries: RetryRecord[];
}

/** One model endpoint, ready to call. Throws ModelError (garbage after retries) or InfraError (endpoint down). */
export interface ModelClient {
  readonly provider: string;
  readonly model: string;
  chat(req: ChatRequest): Promise<ChatResponse>;
}
