/** Token counts of one reply: as the server reported them, or estimated from text length when it sent none. */
import type { ChatRequest, ChatUsage } from "./model-types.ts";

/** Rough characters per token, for servers that report no usage (flagged `estimated`). */
export const CHARS_PER_TOKEN = 4;

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Reads OpenAI/DeepSeek usage, or estimates it from text length when the server sent none. */
export function readUsage(usage: Record<string, unknown> | undefined, req: ChatRequest, content: string, reasoning: string): ChatUsage {
  const estimate = (chars: number) => Math.ceil(chars / CHARS_PER_TOKEN);
  const prompt = num(usage?.["prompt_tokens"]);
  const completion = num(usage?.["completion_tokens"]);
  if (prompt === undefined || completion === undefined) {
    const promptChars = req.messages.reduce((n, m) => n + m.content.length, 0);
    return {
      promptTokens: estimate(promptChars),
      completionTokens: estimate(content.length + reasoning.length),
      reasoningTokens: estimate(reasoning.length),
      estimated: true,
    };
  }
  const details = usage?.["completion_tokens_details"] as Record<string, unknown> | undefined;
  const promptDetails = usage?.["prompt_tokens_details"] as Record<string, unknown> | undefined;
  // Without a reported count, reasoning tokens are estimated but can never exceed the completion.
  const reasoningTokens = num(details?.["reasoning_tokens"]) ?? Math.min(completion, estimate(reasoning.length));
  const cached = num(usage?.["prompt_cache_hit_tokens"]) ?? num(promptDetails?.["cached_tokens"]);
  return {
    promptTokens: prompt,
    completionTokens: completion,
    reasoningTokens,
    ...(cached !== undefined ? { cachedPromptTokens: cached } : {}),
  };
}
