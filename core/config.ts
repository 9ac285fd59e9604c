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
import { readSettingsFiles, type SettingSource, type SettingsFile, type SettingsFileError } from "./config-files.ts";

export type { Secret } from "./secrets.ts";

/** An optional string (an empty one counts as unset); a function, since each setting's metadata needs its own schema instance. */
const optionalString = () =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));

/** What each numeric setting's schema takes, as a hint says it: "a number of seconds above 0 (e.g. 60)". */
const EXPECTED = new WeakMap<z.ZodType, string>();

/**
 * A number of `unit` above 0 (a whole number with `int`), `def` when unset (an empty variable counts as unset). A value
 * that is not one says so in the setting's unit: '"abc" is not a number of seconds', '"1.5" is not a whole number of
 * tokens', '"-5" is not a number of seconds above 0'. `example` is the value a hint shows (the default's when it has one).
 */
function amount(unit: string, def: number, opts?: { int?: boolean }): z.ZodType<number>;
function amount(unit: string, def: undefined, opts: { int?: boolean; example: number }): z.ZodType<number | undefined>;
function amount(unit: string, def: number | undefined, opts: { int?: boolean; example?: number } = {}): z.ZodType<number | undefined> {
  const kind = `${opts.int ? "whole " : ""}number of ${unit}`;
  const schema = z
    .unknown()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || (typeof v === "string" && v.trim() === "")) return def;
      const text = String(v).trim();
      // Decimal notation only: Number() would also take "0x10", "Infinity" and " ".
      const n = typeof v === "number" ? v : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
      const why = !Number.isFinite(n)
        ? `a number of ${unit}`
        : opts.int && !Number.isInteger(n)
          ? `a whole number of ${unit}`
          : n <= 0
            ? `a ${kind} above 0`
            : undefined;
      if (why === undefined) return n;
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(text)} is not ${why}` });
      return z.NEVER;
    });
  EXPECTED.set(schema, `a ${kind} above 0 (e.g. ${def ?? opts.example})`);
  return schema;
}

/** The values a switch takes; a settings file's true and false are 1 and 0 (core/config-files.ts). */
const SWITCH_VALUES = ["0", "1", "true", "false"] as const;

/** A switch: 0/1 or false/true, in any case (an empty variable counts as unset); anything else is invalid, naming these. */
const onOff = () =>
  z.preprocess((v) => (typeof v === "string" ? (v.trim() === "" ? undefined : v.trim().toLowerCase()) : v), z.enum(SWITCH_VALUES).optional());

/** A switch's value as a boolean (`def` when unset). */
const isOn = (v: (typeof SWITCH_VALUES)[number] | undefined, def: boolean) => (v === undefined ? def : v === "1" || v === "true");

/** What the settings table and `kforge config` say of a setting: its meaning, its default, whether it is a secret. */
export interface SettingMeta {
  description: string;
  /** The default as a person reads it. */
  default: string;
  /** An API key: `kforge config` shows `[set]`, and a project's kforge.json may not hold it. */
  secret?: boolean;
}

/** The registry of every setting's metadata: with the schemas below, the one source of the README's table. */
export const settingsRegistry = z.registry<SettingMeta>();

const meta = <T extends z.ZodType>(schema: T, m: SettingMeta): T => {
  settingsRegistry.add(schema, m);
  return schema;
};

const EnvSchema = z.object({
  KFORGE_HOME: meta(optionalString(), {
    description: "folder of the database, logs (`logs/RUN.log`), variants and `config.json`",
    default: "~/.kforge",
  }),
  KFORGE_DB: meta(optionalString(), { description: "the SQLite file of checkpoints, traces and memory", default: "$KFORGE_HOME/kforge.sqlite" }),
  KFORGE_PYTHON: meta(optionalString(), {
    description: "the Python with PyTorch (and Triton on GPU hosts) that runs the verifier",
    default: "python3",
  }),
  KFORGE_PROVIDER: meta(optionalString(), {
    description: "`deepseek`, `openai-compatible` or `offline`",
    default: "deepseek with DEEPSEEK_API_KEY, openai-compatible with KFORGE_BASE_URL, else offline",
  }),
  KFORGE_MODEL: meta(optionalString(), { description: "the model name sent to the endpoint", default: "deepseek-reasoner (DeepSeek)" }),
  KFORGE_BASE_URL: meta(optionalString(), { description: "an OpenAI-compatible server (vLLM, SGLang, ...)", default: "none" }),
  KFORGE_API_KEY: meta(optionalString(), { description: "the key of that server", default: "none", secret: true }),
  KFORGE_ROLE_MODELS: meta(optionalString(), {
    description: 'per-role overrides as JSON, e.g. `{"critic":{"model":"deepseek-chat"}}` (in a settings file, that object itself)',
    default: "none",
  }),
  DEEPSEEK_API_KEY: meta(optionalString(), { description: "use DeepSeek (`deepseek-reasoner`)", default: "none", secret: true }),
  DEEPSEEK_BASE_URL: meta(optionalString(), { description: "DeepSeek's endpoint (a proxy or a mirror)", default: "https://api.deepseek.com" }),
  KFORGE_GPUS: meta(optionalString(), { description: "GPU ids to verify on, comma-separated (needs a GPU)", default: "all visible" }),
  KFORGE_NCU: meta(optionalString(), {
    description: "the Nsight Compute binary used to profile the best kernels (needs a GPU)",
    default: "ncu on PATH",
  }),
  KFORGE_GPU_TESTS: meta(optionalString(), { description: "`1` runs the test suite's GPU tests (needs a GPU)", default: "off" }),
  KFORGE_LOG: meta(z.enum(["debug", "info", "warn", "error"]).optional(), {
    description: "level of each run's log file, `KFORGE_HOME/logs/RUN.log` (`debug`, `info`, `warn`, `error`)",
    default: "info",
  }),
  NO_COLOR: meta(optionalString(), { description: "any value turns colour off in the terminal", default: "colour on" }),
  KFORGE_UNSAFE_NO_SANDBOX: meta(optionalString(), {
    description: "`1` runs candidates even where the OS sandbox cannot be built (loudly warned; never on a shared host)",
    default: "off",
  }),
  KFORGE_QUEUE: meta(optionalString(), {
    description: "Redis job queue of remote GPU workers, `redis://[:PASSWORD@]HOST:PORT` (`rediss://` for TLS); `search`/`resume` verify through it",
    default: "none (local lanes only)",
  }),
  KFORGE_QUEUE_TLS_CA: meta(optionalString(), {
    description: "CA file that signed the Redis server's certificate (`rediss://`)",
    default: "the system's CAs",
  }),
  KFORGE_QUEUE_LEASE_S: meta(amount("seconds", 60), {
    description: "a worker silent this long loses its jobs, which run again elsewhere (s)",
    default: "60",
  }),
  KFORGE_QUEUE_LOCAL: meta(onOff(), {
    description: "`0` (or `false`): with a queue, verify only on remote workers; `1` (or `true`): this machine's lanes serve it too",
    default: "1",
  }),
});

/** Limits of model calls: checked apart, so a bad one fails only commands that call a model. */
const ModelLimitsSchema = z.object({
  KFORGE_MODEL_TIMEOUT_S: meta(amount("seconds", 1800), {
    description: "per-attempt limit of one model call, headers to last chunk (s)",
    default: "1800",
  }),
  KFORGE_MODEL_IDLE_TIMEOUT_S: meta(amount("seconds", 290), { description: "longest silence mid-stream (s)", default: "290" }),
  KFORGE_MAX_REPLY_CHARS: meta(amount("characters", undefined, { int: true, example: 200_000 }), {
    description: "a reply longer than this is cut off and recorded as `reply_too_large`",
    default: "200000, or 6 per max_tokens token if more",
  }),
  KFORGE_MAX_REPLY_TOKENS: meta(amount("tokens", 32_768, { int: true }), {
    description: "`max_tokens` of every call; `--max-tokens`/`--max-cost` reserve this much per call in flight",
    default: "32768",
  }),
  KFORGE_BREAKER_FAILURES: meta(amount("failed calls", 5, { int: true }), {
    description: "failed calls in a row after which calls pause (the breaker opens)",
    default: "5",
  }),
  KFORGE_BREAKER_PAUSE_S: meta(amount("seconds", 15), {
    description: "first pause of an open breaker, doubling after each failed probe (s)",
    default: "15",
  }),
  KFORGE_BREAKER_WAIT_S: meta(amount("seconds", 900), {
    description: "down this long in all, the run stops as `stopped` (exit 75), resumable (s)",
    default: "900",
  }),
  KFORGE_PREFLIGHT_TIMEOUT_S: meta(amount("seconds", 30), {
    description: "limit of the endpoint check made before a run is created (s)",
    default: "30",
  }),
});

/** Each setting's schema by name: what loadConfig (and agents/model.ts, for the model limits) accepts. */
const SCHEMA_OF: Record<string, z.ZodType> = { ...EnvSchema.shape, ...ModelLimitsSchema.shape };

/** Every setting's name with its metadata, in the schemas' order (the README table, `kforge config`). */
export const SETTINGS: readonly { name: string; meta: SettingMeta }[] = [
  ...Object.entries(EnvSchema.shape),
  ...Object.entries(ModelLimitsSchema.shape),
].map(([name, schema]) => ({
  name,
  meta: settingsRegistry.get(schema as z.ZodType)!,
}));

/** The smallest default reply cap (characters); larger when KFORGE_MAX_REPLY_TOKENS allows longer replies. */
export const MIN_REPLY_CHARS = 200_000;

/** The model settings ModelEnv carries as given, whose errors (agents/model-settings.ts) name the file they came from. */
const MODEL_SETTINGS = [
  "KFORGE_PROVIDER",
  "KFORGE_MODEL",
  "KFORGE_BASE_URL",
  "KFORGE_API_KEY",
  "DEEPSEEK_API_KEY",
  "DEEPSEEK_BASE_URL",
  "KFORGE_ROLE_MODELS",
];

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
  /**
   * The settings file each model setting above was read from, by setting name (KFORGE_PROVIDER, KFORGE_ROLE_MODELS,
   * ...); a name that is absent came from the environment or is unset. Errors about a value name where to fix it.
   */
  files: Readonly<Record<string, string>>;
  /**
   * A model-call limit that did not parse (its defaults are used meanwhile): agents/model.ts reports it when a model
   * is needed, naming where it was set: `file`, the settings file it came from, or the environment when undefined.
   */
  invalid: { variable: string; message: string; file: string | undefined; expected: string | undefined } | undefined;
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
  /** The job queue of remote workers (tools/queue): Redis URL, TLS CA file, lease, whether this machine's lanes serve it too. */
  queue: { url: string | undefined; tlsCa: string | undefined; leaseMs: number; localLanes: boolean };
  /** Names of environment variables that carry secrets: never passed to generated code. */
  secretNames: string[];
  /** The secret values themselves, by name: scrubbed from storage, terminal output and prompts (core/redact.ts). */
  secrets: readonly Secret[];
}

/** The password inside a Redis URL, as a secret to scrub (`redis://:PASSWORD@host:port`). */
function urlPassword(url: string | undefined): Secret[] {
  const m = url ? /^rediss?:\/\/[^:@/]*:([^@/]+)@/.exec(url) : null;
  const value = m?.[1] ? decodeURIComponent(m[1]) : undefined;
  return value && value.length >= 4 ? [{ name: "KFORGE_QUEUE", value }] : [];
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

/**
 * Secrets of the environment and the settings files, for output guards that must work even when the rest of the
 * config is invalid: a settings file kforge cannot use is searched for `"NAME": "value"` pairs of secret names (its
 * error, a JSON.parse message quoting the file, and `kforge config`'s report of it must not show them either).
 */
export function loadSecrets(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): readonly Secret[] {
  let merged: NodeJS.ProcessEnv = env;
  let unreadable: SettingsFileError[] = [];
  try {
    ({ merged, unreadable } = mergedSettings(env, cwd, "collect"));
  } catch {
    // a settings file that does not even open: loadConfig reports it; the environment's secrets are guarded meanwhile
  }
  const inFiles = unreadable.flatMap((f) => (f.text ? collectSecrets(quotedPairs(f.text), SETTING_NAMES).secrets : []));
  return [...collectSecrets(merged, SETTING_NAMES).secrets, ...inFiles, ...urlPassword(merged["KFORGE_QUEUE"])];
}

/** The `"name": "value"` pairs of a text that may not parse as JSON (a broken settings file), values unescaped where they can be. */
function quotedPairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/"([^"\\]+)"\s*:\s*"((?:[^"\\]|\\.)*)"/g)) {
    let value = m[2]!;
    try {
      value = JSON.parse(`"${value}"`) as string;
    } catch {
      // kept as written
    }
    out[m[1]!] = value;
  }
  return out;
}

const KNOWN = new Set(SETTINGS.map((s) => s.name));
/** Settings whose value is JSON: a settings file may give it as JSON itself (an object) or as a string holding it. */
const JSON_SETTINGS: ReadonlySet<string> = new Set(["KFORGE_ROLE_MODELS"]);
/** Settings that any value turns on (NO_COLOR): a settings file's false leaves them unset rather than giving "0". */
const PRESENCE_SETTINGS: ReadonlySet<string> = new Set(["NO_COLOR"]);
const isSecret = (name: string) => SETTINGS.find((s) => s.name === name)?.meta.secret === true;

/**
 * The environment with the settings files' values under it (env > ./kforge.json > KFORGE_HOME/config.json), and where
 * each came from. A file kforge cannot use throws, or with `unreadable: "collect"` is left out and returned.
 */
function mergedSettings(
  env: NodeJS.ProcessEnv,
  cwd: string,
  unreadable: "throw" | "collect" = "throw",
): { merged: NodeJS.ProcessEnv; files: { project: SettingsFile | null; home: SettingsFile | null }; unreadable: SettingsFileError[] } {
  const { unreadable: skipped, ...files } = readSettingsFiles(
    env,
    cwd,
    join(homedir(), ".kforge"),
    { known: KNOWN, secret: isSecret, kinds: { json: JSON_SETTINGS, presence: PRESENCE_SETTINGS } },
    { unreadable },
  );
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const file of [files.project, files.home]) {
    for (const [name, value] of Object.entries(file?.values ?? {})) {
      const given = merged[name];
      if (given === undefined || given.trim() === "") merged[name] = name === "KFORGE_HOME" || name === "KFORGE_DB" ? resolve(cwd, value) : value;
    }
  }
  return { merged, files, unreadable: skipped };
}

/** One setting's effective value and where it came from (`kforge config`); a secret's value is never included. */
export interface EffectiveSetting {
  name: string;
  /** The value as given, the default as a person reads it, or `[set]` for a secret. */
  value: string;
  source: SettingSource;
  /** The file it came from, for a file source. */
  file?: string;
  description: string;
  /** What its schema says is wrong with the value, when it is invalid (a command that uses it refuses to run). */
  invalid?: string;
  /** The values it may take, when it is invalid and its schema lists them (KFORGE_LOG). */
  allowed?: string[];
  /** What it takes, when it is invalid and is a number: "a number of seconds above 0 (e.g. 60)". */
  expected?: string;
}

/** What a numeric setting takes, as a hint says it ("a number of seconds above 0 (e.g. 60)"); undefined for the others. */
export function expectedValue(name: string): string | undefined {
  const schema = SCHEMA_OF[name];
  return schema ? EXPECTED.get(schema) : undefined;
}

/**
 * Every setting's effective value and source. Throws the `ConfigError` of a settings file kforge cannot use, or with
 * `unreadable: "skip"` (`kforge config`) leaves that file out (`unreadableSettingsFiles` names it).
 */
export function effectiveSettings(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  opts: { unreadable?: "throw" | "skip" } = {},
): EffectiveSetting[] {
  const { merged, files } = mergedSettings(env, cwd, opts.unreadable === "skip" ? "collect" : "throw");
  return SETTINGS.map(({ name, meta }) => {
    const fromEnv = env[name] !== undefined && env[name]!.trim() !== "" ? env[name] : undefined;
    const where: [SettingSource, string | undefined, SettingsFile | null] =
      fromEnv !== undefined
        ? ["env", fromEnv, null]
        : files.project?.values[name] !== undefined
          ? ["project", files.project.values[name], files.project]
          : files.home?.values[name] !== undefined
            ? ["home", files.home.values[name], files.home]
            : ["default", undefined, null];
    const [source, given, file] = where;
    const value = given === undefined ? meta.default : meta.secret ? "[set]" : given;
    const checked = SCHEMA_OF[name]!.safeParse(merged[name]);
    const issue = checked.success ? undefined : checked.error.issues[0];
    const invalid = checked.success ? undefined : (issue?.message ?? "invalid");
    const allowed = issue?.code === "invalid_value" ? issue.values.map(String) : undefined;
    const expected = invalid ? expectedValue(name) : undefined;
    return {
      name,
      value,
      source,
      ...(file ? { file: file.path } : {}),
      description: meta.description,
      ...(invalid ? { invalid } : {}),
      ...(allowed ? { allowed } : {}),
      ...(expected ? { expected } : {}),
    };
  });
}

/** The settings files kforge cannot use (not JSON, an unknown setting, ...), each with the error every other command refuses to start with. */
export function unreadableSettingsFiles(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): SettingsFileError[] {
  return mergedSettings(env, cwd, "collect").unreadable;
}

/** Where a setting came from, as an error message names it. */
export function settingOrigin(s: EffectiveSetting): string {
  return s.source === "env" || s.source === "default" ? "the environment" : s.file!;
}

/**
 * Parses the environment and the settings files into a `Config`, or throws a `ConfigError` naming what to fix.
 * With `invalid: "default"` (`kforge config`, which lists and flags every invalid setting and unusable settings file
 * itself) an invalid setting is left at its default instead, and a settings file kforge cannot use is left out.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), opts: { invalid?: "throw" | "default" } = {}): Config {
  const { merged, files } = mergedSettings(env, cwd, opts.invalid === "default" ? "collect" : "throw");
  let parsed = EnvSchema.safeParse(merged);
  if (!parsed.success && opts.invalid === "default") {
    for (const issue of parsed.error.issues) delete merged[String(issue.path[0])];
    parsed = EnvSchema.safeParse(merged);
  }
  if (!parsed.success) {
    // Every invalid setting at once (the model limits' too), each with where it came from: one round of fixes.
    const bad = effectiveSettings(env, cwd, { unreadable: opts.invalid === "default" ? "skip" : "throw" }).filter((r) => r.invalid !== undefined);
    if (bad.length <= 1) {
      const issue = parsed.error.issues[0];
      const [name, where, why] = bad[0]
        ? [bad[0].name, settingOrigin(bad[0]), bad[0].invalid]
        : [issue?.path.join(".") ?? "?", "the environment", issue?.message];
      const takes = expectedValue(name);
      throw new ConfigError(`setting ${name} (from ${where}) is invalid: ${why}`, {
        hint: takes ? `set ${name} to ${takes} in ${where}, or unset it` : `fix or unset ${name} in ${where}`,
      });
    }
    throw new ConfigError(`settings are invalid:\n${bad.map((r) => `  ${r.name} (from ${settingOrigin(r)}): ${r.invalid}`).join("\n")}`, {
      hint: "fix or unset each where it is set",
    });
  }
  const e = parsed.data;
  const limits = ModelLimitsSchema.safeParse(merged);
  const m = limits.success ? limits.data : ModelLimitsSchema.parse({});
  const bad = limits.success ? undefined : limits.error.issues[0];
  const badName = bad ? String(bad.path[0]) : "";
  // Where a value came from: the environment wins over the project file, which wins over the home file.
  const fileOf = (name: string) =>
    nonEmpty(env[name]) ? undefined : [files.project, files.home].find((f) => nonEmpty(f?.values[name]) !== undefined)?.path;
  const badFile = bad ? fileOf(badName) : undefined;
  const modelFiles = Object.fromEntries(MODEL_SETTINGS.flatMap((name) => (fileOf(name) ? [[name, fileOf(name)!]] : [])));
  const home = resolve(e.KFORGE_HOME ?? join(homedir(), ".kforge"));
  const found = collectSecrets(merged, SETTING_NAMES);
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
      files: modelFiles,
      invalid: bad ? { variable: badName, message: bad.message, file: badFile, expected: expectedValue(badName) } : undefined,
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
    gpus: e.KFORGE_GPUS
      ? e.KFORGE_GPUS.split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    ncu: e.KFORGE_NCU ?? "ncu",
    gpuTests: e.KFORGE_GPU_TESTS === "1",
    logLevel: e.KFORGE_LOG ?? "info",
    color: !e.NO_COLOR,
    unsafeNoSandbox: e.KFORGE_UNSAFE_NO_SANDBOX === "1",
    queue: {
      url: e.KFORGE_QUEUE,
      tlsCa: e.KFORGE_QUEUE_TLS_CA,
      leaseMs: e.KFORGE_QUEUE_LEASE_S * 1000,
      localLanes: isOn(e.KFORGE_QUEUE_LOCAL, true),
    },
    secretNames: found.names,
    secrets: [...found.secrets, ...urlPassword(e.KFORGE_QUEUE)],
  };
}

/** `s` unless it is unset or blank (a blank setting counts as unset). */
function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s;
}
