/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 * Model settings are kept as given: agents/model.ts resolves and checks them (with the provider
 * defaults) only when a model is needed, so commands without a model never fail on them.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { collectSecrets, type Secret } from "./secrets.ts";

export type { Secret } from "./secrets.ts";

const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));

/** A positive number (an empty variable counts as unset), with a default. */
const positive = (def: number, int = false) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), (int ? z.coerce.number().int() : z.coerce.number()).positive().default(def));

const EnvSchema = z.object({
  KFORGE_HOME: optionalString,
  KFORGE_DB: optionalString,
  KFORGE_PYTHON: optionalString,
  KFORGE_PROVIDER: optionalString,
  KFORGE_MODEL: optionalString,
  KFORGE_BASE_URL: optionalString,
  KFORGE_API_KEY: optionalString,
  KFORGE_ROLE_MODELS: optionalString,
  DEEPSEEK_API_KEY: optionalString,
  DEEPSEEK_BASE_URL: optionalString,
  KFORGE_GPUS: optionalString,
  KFORGE_NCU: optionalString,
  KFORGE_GPU_TESTS: optionalString,
  KFORGE_LOG: z.enum(["debug", "info", "warn", "error"]).optional(),
  NO_COLOR: optionalString,
  KFORGE_UNSAFE_NO_SANDBOX: optionalString,
});

/** Limits of model calls: checked apart, so a bad one fails only commands that call a model. */
const ModelLimitsSchema = z.object({
  KFORGE_MODEL_TIMEOUT_S: positive(1800),
  KFORGE_MODEL_IDLE_TIMEOUT_S: positive(290),
  KFORGE_MAX_REPLY_CHARS: z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.coerce.number().int().positive().optional()),
  KFORGE_MAX_REPLY_TOKENS: positive(32_768, true),
  KFORGE_BREAKER_FAILURES: positive(5, true),
  KFORGE_BREAKER_PAUSE_S: positive(15),
  KFORGE_BREAKER_WAIT_S: positive(900),
  KFORGE_PREFLIGHT_TIMEOUT_S: positive(30),
});

/** The smallest default reply cap (characters); larger when KFORGE_MAX_REPLY_TOKENS allows longer replies. */
export const MIN_REPLY_CHARS = 200_000;

/** Settings of this schema that are not secrets, whatever their name says (KFORGE_MAX_REPLY_TOKENS). */
const SETTING_NAMES = [...Object.keys(EnvSchema.shape), ...Object.keys(ModelLimitsSchema.shape)].filter((n) => !/API_KEY$/.test(n));

/** The model settings as the environment gives them, unchecked (agents/model.ts resolves them). */
export interface ModelEnv {
  /** KFORGE_PROVIDER as written ("deepseek", "openai-compatible", "offline", or a typo to report). */
  provider: string | undefined;
  model: string | undefined;
  baseUrl: string | undefined;
  apiKey: string | undefined;
  deepseekApiKey: string | undefined;
  deepseekBaseUrl: string | undefined;
  /** KFORGE_ROLE_MODELS as written (JSON of {role: {provider?, model?, baseUrl?, apiKey?}}). */
  roleModels: string | undefined;
  /** A model-call limit that did not parse (its defaults are used meanwhile): agents/model.ts reports it when a model is needed. */
  invalid: { variable: string; message: string } | undefined;
}

/** How model calls are bounded, and when a dead endpoint stops a run. */
export interface ModelLimits {
  /** Per-attempt limit of one call, headers to last chunk (ms). */
  timeoutMs: number;
  /** Longest silence between streamed chunks (ms). */
  idleTimeoutMs: number;
  /** A reply (answer + reasoning) longer than this is cut off and recorded as `reply_too_large` (default: 200k, or 6 characters per max_tokens token if more). */
  maxReplyChars: number;
  /** max_tokens sent with every call; budgets reserve this much for each call in flight. */
  maxReplyTokens: number;
  /** Consecutive endpoint failures that open the circuit breaker (the run pauses). */
  breakerFailures: number;
  /** First pause once the breaker is open (ms); doubles after each failed probe. */
  breakerPauseMs: number;
  /** Total pause after which a run whose endpoint stays down stops (ms). */
  breakerMaxWaitMs: number;
  /** Limit of the pre-flight request made before a search starts (ms). */
  preflightTimeoutMs: number;
}

export interface Config {
  /** Folder for the database, artifacts and caches (default ~/.kforge or $KFORGE_HOME). */
  home: string;
  /** The single SQLite file holding checkpoints, traces and memory. */
  dbPath: string;
  /** Python interpreter used for the verifier harness (must have torch; triton for GPU work). */
  python: string;
  /** The model settings as given; agents/model.ts is where a model is chosen from them. */
  modelEnv: ModelEnv;
  modelLimits: ModelLimits;
  /** GPU ids to verify on (default: all visible). */
  gpus: string[] | undefined;
  /** Path of the ncu binary (default: found on PATH). */
  ncu: string;
  gpuTests: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  color: boolean;
  /** KFORGE_UNSAFE_NO_SANDBOX=1: run candidates even where the OS sandbox cannot be built (loudly warned). */
  unsafeNoSandbox: boolean;
  /** Names of environment variables that carry secrets: never passed to generated code. */
  secretNames: string[];
  /** The secret values themselves, by name: scrubbed from storage, terminal output and prompts (core/redact.ts). */
  secrets: readonly Secret[];
}

/** Path of better-sqlite3's native addon when running from a portable bundle (set by its launcher). */
export function sqliteNativeBinding(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env["KFORGE_SQLITE_BINDING"] || undefined;
}

/** The repository root (where problems/ and tools/ live), whether run from source or a bundle. */
export function repoRoot(): string {
  const fromEnv = process.env["KFORGE_ROOT"];
  if (fromEnv) return resolve(fromEnv);
  let dir = resolve(import.meta.dirname ?? ".");
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "problems")) && existsSync(join(dir, "tools"))) return dir;
    dir = resolve(dir, "..");
  }
  return process.cwd();
}

/** Secrets of the environment, for output guards that must work even when the rest of the config is invalid. */
export function loadSecrets(env: NodeJS.ProcessEnv = process.env): readonly Secret[] {
  return collectSecrets(env, SETTING_NAMES).secrets;
}

/** Parses the environment into a `Config`, or throws a `ConfigError` naming the variable to fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join(".") ?? "?";
    throw new ConfigError(`environment variable ${name} is invalid: ${issue?.message}`, {
      hint: `fix or unset ${name}`,
    });
  }
  const e = parsed.data;
  const limits = ModelLimitsSchema.safeParse(env);
  const m = limits.success ? limits.data : ModelLimitsSchema.parse({});
  const bad = limits.success ? undefined : limits.error.issues[0];
  const home = resolve(e.KFORGE_HOME ?? join(homedir(), ".kforge"));
  const found = collectSecrets(env, SETTING_NAMES);
  return {
    home,
    dbPath: resolve(e.KFORGE_DB ?? join(home, "kforge.sqlite")),
    // The system interpreter by default: on Debian CI it is the one with python3-torch installed.
    python: e.KFORGE_PYTHON ?? "python3",
    modelEnv: {
      provider: e.KFORGE_PROVIDER,
      model: e.KFORGE_MODEL,
      baseUrl: e.KFORGE_BASE_URL,
      apiKey: e.KFORGE_API_KEY,
      deepseekApiKey: e.DEEPSEEK_API_KEY,
      deepseekBaseUrl: e.DEEPSEEK_BASE_URL,
      roleModels: e.KFORGE_ROLE_MODELS,
      invalid: bad ? { variable: bad.path.join("."), message: bad.message } : undefined,
    },
    modelLimits: {
      timeoutMs: m.KFORGE_MODEL_TIMEOUT_S * 1000,
      idleTimeoutMs: m.KFORGE_MODEL_IDLE_TIMEOUT_S * 1000,
      // A reply of max_tokens tokens is some 4 characters a token: the default cap leaves room for that, and more.
      maxReplyChars: m.KFORGE_MAX_REPLY_CHARS ?? Math.max(MIN_REPLY_CHARS, m.KFORGE_MAX_REPLY_TOKENS * 6),
      maxReplyTokens: m.KFORGE_MAX_REPLY_TOKENS,
      breakerFailures: m.KFORGE_BREAKER_FAILURES,
      breakerPauseMs: m.KFORGE_BREAKER_PAUSE_S * 1000,
      breakerMaxWaitMs: m.KFORGE_BREAKER_WAIT_S * 1000,
      preflightTimeoutMs: m.KFORGE_PREFLIGHT_TIMEOUT_S * 1000,
    },
    gpus: e.KFORGE_GPUS ? e.KFORGE_GPUS.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    ncu: e.KFORGE_NCU ?? "ncu",
    gpuTests: e.KFORGE_GPU_TESTS === "1",
    logLevel: e.KFORGE_LOG ?? "info",
    color: !e.NO_COLOR,
    unsafeNoSandbox: e.KFORGE_UNSAFE_NO_SANDBOX === "1",
    secretNames: found.names,
    secrets: found.secrets,
  };
}
