/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors.ts";

const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));

const EnvSchema = z.object({
  KFORGE_HOME: optionalString,
  KFORGE_DB: optionalString,
  KFORGE_PYTHON: optionalString,
  KFORGE_PROVIDER: z.enum(["deepseek", "openai-compatible", "offline"]).optional(),
  KFORGE_MODEL: optionalString,
  KFORGE_BASE_URL: optionalString,
  KFORGE_API_KEY: optionalString,
  KFORGE_ROLE_MODELS: optionalString,
  DEEPSEEK_API_KEY: optionalString,
  DEEPSEEK_BASE_URL: optionalString,
  KFORGE_MODEL_TIMEOUT_S: z.coerce.number().positive().optional(),
  KFORGE_MODEL_IDLE_TIMEOUT_S: z.coerce.number().positive().optional(),
  KFORGE_GPUS: optionalString,
  KFORGE_NCU: optionalString,
  KFORGE_GPU_TESTS: optionalString,
  KFORGE_LOG: z.enum(["debug", "info", "warn", "error"]).optional(),
  NO_COLOR: optionalString,
  KFORGE_UNSAFE_NO_SANDBOX: optionalString,
});

export type ProviderName = "deepseek" | "openai-compatible" | "offline";

/** Settings of one model endpoint (a role may override the default). */
export interface ModelSettings {
  provider: ProviderName;
  model: string;
  baseUrl: string | undefined;
  apiKey: string | undefined;
}

export interface Config {
  /** Folder for the database, artifacts and caches (default ~/.kforge or $KFORGE_HOME). */
  home: string;
  /** The single SQLite file holding checkpoints, traces and memory. */
  dbPath: string;
  /** Python interpreter used for the verifier harness (must have torch; triton for GPU work). */
  python: string;
  /** Default model settings; roles may override via KFORGE_ROLE_MODELS (JSON). */
  model: ModelSettings;
  /** Per-role overrides, e.g. {"coder": {"model": "deepseek-reasoner"}}. */
  roleModels: Record<string, Partial<ModelSettings>>;
  /** DEEPSEEK_API_KEY, kept even when the default provider is another one (a role may switch to deepseek). */
  deepseekApiKey?: string | undefined;
  /** Per-attempt model call limits: whole reply, and silence between chunks (ms; defaults in agents/chat-client.ts). */
  modelTimeoutMs?: number | undefined;
  modelIdleTimeoutMs?: number | undefined;
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

function defaultPython(): string {
  // Prefer the system interpreter: on Debian CI it is the one with python3-torch installed.
  return "python3";
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
  const home = resolve(e.KFORGE_HOME ?? join(homedir(), ".kforge"));
  const provider: ProviderName =
    e.KFORGE_PROVIDER ?? (e.KFORGE_BASE_URL ? "openai-compatible" : e.DEEPSEEK_API_KEY ? "deepseek" : "offline");
  const model: ModelSettings = {
    provider,
    model: e.KFORGE_MODEL ?? (provider === "deepseek" ? "deepseek-reasoner" : provider === "offline" ? "offline" : ""),
    baseUrl: provider === "deepseek" ? (e.DEEPSEEK_BASE_URL ?? "https://api.deepseek.com") : e.KFORGE_BASE_URL,
    apiKey: provider === "deepseek" ? e.DEEPSEEK_API_KEY : e.KFORGE_API_KEY,
  };
  let roleModels: Record<string, Partial<ModelSettings>> = {};
  if (e.KFORGE_ROLE_MODELS) {
    try {
      roleModels = z
        .record(z.string(), z.object({ provider: z.enum(["deepseek", "openai-compatible", "offline"]).optional(), model: z.string().optional(), baseUrl: z.string().optional(), apiKey: z.string().optional() }))
        .parse(JSON.parse(e.KFORGE_ROLE_MODELS));
    } catch (err) {
      throw new ConfigError(`KFORGE_ROLE_MODELS is not valid JSON of {role: {provider?, model?, baseUrl?, apiKey?}}`, {
        hint: `example: KFORGE_ROLE_MODELS='{"critic":{"model":"deepseek-chat"}}'`,
        cause: err,
      });
    }
  }
  return {
    home,
    dbPath: resolve(e.KFORGE_DB ?? join(home, "kforge.sqlite")),
    python: e.KFORGE_PYTHON ?? defaultPython(),
    model,
    roleModels,
    deepseekApiKey: e.DEEPSEEK_API_KEY,
    modelTimeoutMs: e.KFORGE_MODEL_TIMEOUT_S === undefined ? undefined : e.KFORGE_MODEL_TIMEOUT_S * 1000,
    modelIdleTimeoutMs: e.KFORGE_MODEL_IDLE_TIMEOUT_S === undefined ? undefined : e.KFORGE_MODEL_IDLE_TIMEOUT_S * 1000,
    gpus: e.KFORGE_GPUS ? e.KFORGE_GPUS.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    ncu: e.KFORGE_NCU ?? "ncu",
    gpuTests: e.KFORGE_GPU_TESTS === "1",
    logLevel: e.KFORGE_LOG ?? "info",
    color: !e.NO_COLOR,
    unsafeNoSandbox: e.KFORGE_UNSAFE_NO_SANDBOX === "1",
    secretNames: ["DEEPSEEK_API_KEY", "KFORGE_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN"],
  };
}
