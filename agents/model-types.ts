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
}

/** One model endpoint, ready to call. Throws ModelError (garbage after retries) or InfraError (endpoint down). */
export interface ModelClient {
  readonly provider: string;
  readonly model: string;
  chat(req: ChatRequest): Promise<ChatResponse>;
}
