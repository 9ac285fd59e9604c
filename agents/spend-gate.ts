/**
 * Token and money budgets that hold for calls in flight: each model call reserves its prompt
 * (estimated) plus its max_tokens before it goes out, and is refused when the budget cannot cover
 * that, so parallel coders can never overshoot `--max-tokens` or `--max-cost` by more than one
 * call's estimate error. A refusal is data (the node fails with the reason) and ends the search.
 */
import type { StopReason } from "../graph/budget.ts";
import { costOf } from "./pricing.ts";

/** Characters per token when reserving: lower than the usage estimate's 4, since code packs fewer characters per token. */
export const RESERVE_CHARS_PER_TOKEN = 3;

/** The budgets a gate enforces (absent = unlimited). */
export interface SpendLimits {
  maxTokens?: number;
  maxCostUsd?: number;
}

/** What the run has spent so far, as recorded (finished calls only). */
export interface Spent {
  tokens: number;
  costUsd: number;
}

/** A reservation to release once the call has ended and its usage is recorded. */
export interface Reservation {
  release(): void;
}

/** A refused call: which budget, and a sentence for the trace. */
export interface Refusal {
  refused: Extract<StopReason, "budget:tokens" | "budget:cost">;
  message: string;
}

/** Reserves room for model calls against the run's budgets. */
export class SpendGate {
  #tokens = 0;
  #usd = 0;
  #refusal: Refusal | null = null;
  #priciest = "";

  constructor(
    private readonly limits: SpendLimits,
    private readonly spent: () => Spent,
    /** max_tokens of every call: a search stops once not even one more call fits. */
    private readonly callMaxTokens: number,
  ) {}

  /** Reserves one call of `model` with a prompt of `promptChars` and a reply of at most `maxTokens`. */
  reserve(r: { model: string; promptChars: number; maxTokens: number }): Reservation | Refusal {
    const tokens = Math.ceil(r.promptChars / RESERVE_CHARS_PER_TOKEN) + r.maxTokens;
    const usd = costOf(r.model, { promptTokens: tokens - r.maxTokens, completionTokens: r.maxTokens, reasoningTokens: 0 }).usd;
    if (usd > 0 && (this.#priciest === "" || usd > this.callUsd(this.#priciest))) this.#priciest = r.model;
    const s = this.spent();
    const { maxTokens, maxCostUsd } = this.limits;
    if (maxTokens !== undefined && s.tokens + this.#tokens + tokens > maxTokens) {
      return this.refuse(
        "budget:tokens",
        `not started: this call reserves ${tokens} tokens (prompt + max_tokens ${r.maxTokens}); spent ${s.tokens} + in flight ${this.#tokens} of --max-tokens ${maxTokens}`,
      );
    }
    if (maxCostUsd !== undefined && s.costUsd + this.#usd + usd > maxCostUsd) {
      return this.refuse(
        "budget:cost",
        `not started: this call may cost $${usd.toFixed(4)}; spent $${s.costUsd.toFixed(4)} + in flight $${this.#usd.toFixed(4)} of --max-cost $${maxCostUsd}`,
      );
    }
    this.#tokens += tokens;
    this.#usd += usd;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#tokens -= tokens;
        this.#usd -= usd;
      },
    };
  }

  /** The budget that can no longer pay for a call (a refusal happened, or less than one call's max_tokens is left), or null. */
  exhausted(): Extract<StopReason, "budget:tokens" | "budget:cost"> | null {
    if (this.#refusal) return this.#refusal.refused;
    const s = this.spent();
    if (this.limits.maxTokens !== undefined && this.limits.maxTokens - s.tokens < this.callMaxTokens) return "budget:tokens";
    if (this.limits.maxCostUsd !== undefined && this.#priciest && this.limits.maxCostUsd - s.costUsd < this.callUsd(this.#priciest))
      return "budget:cost";
    return null;
  }

  private callUsd(model: string): number {
    return costOf(model, { promptTokens: 0, completionTokens: this.callMaxTokens, reasoningTokens: 0 }).usd;
  }

  private refuse(refused: Refusal["refused"], message: string): Refusal {
    this.#refusal = { refused, message };
    return this.#refusal;
  }
}
