/**
 * List prices per model, in US dollars per million tokens. The one table the cost budget reads.
 */
import type { ChatUsage } from "./model-types.ts";

/** Prices of one model in USD per 1M tokens. */
export interface ModelPrice {
  /** Input tokens that missed the provider's prompt cache (the list price). */
  inputPerM: number;
  /** Input tokens served from the provider's prompt cache (defaults to inputPerM). */
  cachedInputPerM?: number;
  /** Output tokens; reasoning tokens are billed as output. */
  outputPerM: number;
}

/**
 * DeepSeek list prices (api-docs.deepseek.com/quick_start/pricing, V3.2 pricing in force since
 * 2025-09-29): both models share one price. Update here when the provider changes them.
 */
export const PRICES: Readonly<Record<string, ModelPrice>> = {
  "deepseek-reasoner": { inputPerM: 0.28, cachedInputPerM: 0.028, outputPerM: 0.42 },
  "deepseek-chat": { inputPerM: 0.28, cachedInputPerM: 0.028, outputPerM: 0.42 },
};

/** The cost of one call, and a note when the model has no price (self-hosted or unknown). */
export interface CallCost {
  usd: number;
  note: string | undefined;
}

/** Looks a model up by exact name, then case-insensitively (servers echo names in varied case). */
export function priceOf(model: string): ModelPrice | undefined {
  const exact = PRICES[model];
  if (exact) return exact;
  const lower = model.toLowerCase();
  for (const [name, price] of Object.entries(PRICES)) if (name.toLowerCase() === lower) return price;
  return undefined;
}

/** Dollars for one call's usage; unknown models cost 0 with a note saying so. */
export function costOf(model: string, usage: ChatUsage): CallCost {
  const price = priceOf(model);
  if (!price) return { usd: 0, note: `no price for model "${model}" in agents/pricing.ts: counted as $0` };
  const cached = Math.min(usage.cachedPromptTokens ?? 0, usage.promptTokens);
  const missed = usage.promptTokens - cached;
  const usd =
    (missed * price.inputPerM + cached * (price.cachedInputPerM ?? price.inputPerM) + usage.completionTokens * price.outputPerM) / 1_000_000;
  return { usd, note: undefined };
}
