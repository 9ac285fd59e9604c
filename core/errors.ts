/**
 * Errors split by who is to blame. Failures of generated kernels are *not* errors: they are
 * `VerifyResult` variants. These classes are for faults of the user's setup, the model's
 * behaviour, our tools, or the infrastructure underneath.
 */
import { inertText } from "./inert-text.ts";

export type Blame = "user" | "model" | "tool" | "infra";

/** One failed attempt of a model call (agents/model-types.ts RetryRecord has this shape). */
export interface AttemptRecord {
  attempt: number;
  status?: number;
  errorClass: string;
  message: string;
  delayMs?: number;
}

/** Which endpoint a model call went to and how its attempts went. */
export interface ModelCallContext {
  provider?: string;
  model: string;
  baseUrl: string;
  attempts?: number;
  /** The last HTTP status, when the server answered one. */
  status?: number | undefined;
  retries?: AttemptRecord[];
}

/** Where a problem definition or variant file is broken. */
export interface ProblemContext {
  file?: string;
  line?: number;
  /** The problem's folder, when no single file is to blame. */
  problemDir?: string;
  /** One line per finding (schema issues, variant errors). */
  issues?: string[];
}

/** What configuration is wrong: an environment variable, a file, or an endpoint that refused. */
export interface ConfigContext {
  variable?: string;
  file?: string;
  call?: ModelCallContext;
  /** How a pre-flight check was refused ("key", "model", "not_api", ...) and what the server said. */
  refusal?: { kind: string; answer: string };
}

/** Which of our tools failed, and what it left to look at. */
export interface ToolContext {
  tool: "verifier" | "profiler" | "render.py";
  /** The tool's output that could not be used (a malformed result), as it came. */
  result?: unknown;
  /** The end of the tool's log, a Python traceback, or the head of an unparsable file. */
  log?: string;
  problemDir?: string;
  args?: string[];
}

/** What part of the infrastructure failed: a model endpoint, or a GPU job that ended without a result. */
export interface InfraContext {
  call?: ModelCallContext;
  /** How a harness job ended instead of with a result ("died", "timeout", ...). */
  outcome?: { kind: string };
}

/** What every kforge error takes besides its message. */
export interface ErrorOptions<C> {
  hint?: string;
  context?: C;
  cause?: unknown;
}

/** Base class: every kforge error says who is to blame and carries typed context. */
export abstract class KforgeError<C extends object = object> extends Error {
  abstract readonly blame: Blame;
  /** A one-line hint saying what to do about it, shown under the message by the CLI. */
  readonly hint: string | undefined;
  /** Details for the trace and for tests; absent when the message says it all. */
  readonly context: C | undefined;

  constructor(message: string, opts: ErrorOptions<C> = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.context = opts.context;
  }
}

/** The user's input or configuration is wrong (a malformed problem file, a bad flag, a missing key). */
export class UserError<C extends object = object> extends KforgeError<C> {
  readonly blame = "user" as const;
}

/** A problem definition under problems/ (or a user's score_mod file) is malformed. */
export class ProblemError extends UserError<ProblemContext> {}

/** Configuration (environment or flags) is invalid or incomplete. */
export class ConfigError extends UserError<ConfigContext> {}

/** Why a model call gave nothing usable: recorded as data in the trace (`reply_too_large` is never retried). */
export type ModelErrorCode = "no_usable_reply" | "reply_too_large" | "request_rejected";

/** The model returned something unusable (garbage after retries, a refusal, a reply past the size cap). */
export class ModelError extends KforgeError<ModelCallContext> {
  readonly blame = "model" as const;
  readonly code: ModelErrorCode;

  constructor(message: string, opts: ErrorOptions<ModelCallContext> & { code?: ModelErrorCode } = {}) {
    super(message, opts);
    this.code = opts.code ?? "no_usable_reply";
  }
}

/** One of our tools failed in a way that is our bug or the host's setup (harness crash, parse failure). */
export class ToolError extends KforgeError<ToolContext> {
  readonly blame = "tool" as const;
}

/** The infrastructure failed: an endpoint down, a GPU missing, a database locked. */
export class InfraError extends KforgeError<InfraContext> {
  readonly blame = "infra" as const;
}

/** The model endpoint stayed down through the circuit breaker's whole wait: the run stops, resumable. */
export class EndpointUnreachableError extends InfraError {}

/** The model call an error came from, when it came from one (its attempts are recorded in the trace). */
export function modelCallOf(err: KforgeError): ModelCallContext | undefined {
  if (err instanceof ModelError) return err.context;
  if (err instanceof ConfigError || err instanceof InfraError) return err.context?.call;
  return undefined;
}

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
