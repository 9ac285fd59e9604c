/**
 * Errors split by who is to blame. Failures of generated kernels are *not* errors: they are
 * `VerifyResult` variants. These classes are for faults of the user's setup, the model's
 * behaviour, our tools, or the infrastructure underneath.
 */
import { inertText } from "./inert-text.ts";

export type Blame = "user" | "model" | "tool" | "infra";

/** Base class: every kforge error says who is to blame and carries typed context. */
export abstract class KforgeError extends Error {
  abstract readonly blame: Blame;
  /** A one-line hint saying what to do about it, shown under the message by the CLI. */
  readonly hint: string | undefined;
  readonly context: Record<string, unknown>;

  constructor(message: string, opts: { hint?: string; context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.context = opts.context ?? {};
  }
}

/** The user's input or configuration is wrong (a malformed problem file, a bad flag, a missing key). */
export class UserError extends KforgeError {
  readonly blame = "user" as const;
}

/** A problem definition under problems/ (or a user's score_mod file) is malformed. */
export class ProblemError extends UserError {}

/** Configuration (environment or flags) is invalid or incomplete. */
export class ConfigError extends UserError {}

/** Why a model call gave nothing usable: recorded as data in the trace (`reply_too_large` is never retried). */
export type ModelErrorCode = "no_usable_reply" | "reply_too_large" | "request_rejected";

/** The model returned something unusable (garbage after retries, a refusal, a reply past the size cap). */
export class ModelError extends KforgeError {
  readonly blame = "model" as const;
  readonly code: ModelErrorCode;

  constructor(message: string, opts: { code?: ModelErrorCode; hint?: string; context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts);
    this.code = opts.code ?? "no_usable_reply";
  }
}

/** One of our tools failed in a way that is our bug or the host's setup (harness crash, parse failure). */
export class ToolError extends KforgeError {
  readonly blame = "tool" as const;
}

/** The infrastructure failed: an endpoint down, a GPU missing, a database locked. */
export class InfraError extends KforgeError {
  readonly blame = "infra" as const;
}

/** The model endpoint stayed down through the circuit breaker's whole wait: the run stops, resumable. */
export class EndpointUnreachableError extends InfraError {}

/** Renders an error for a terminal: message, hint, and who is to blame (inert: messages may quote a server or a model). */
export function describeError(err: unknown): string {
  if (err instanceof KforgeError) {
    const lines = [`error (${err.blame}): ${inertText(err.message)}`];
    if (err.hint) lines.push(`  hint: ${inertText(err.hint)}`);
    return lines.join("\n");
  }
  if (err instanceof Error) return `error (internal): ${inertText(err.stack ?? err.message)}`;
  return `error (internal): ${inertText(String(err))}`;
}
