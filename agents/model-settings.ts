/**
 * The model settings of each role, resolved from the environment as given (Config.modelEnv): the
 * provider and its defaults, then KFORGE_ROLE_MODELS overrides. The one place model defaults live;
 * checked only when a model is needed, so `kforge runs` works with a mistyped KFORGE_PROVIDER.
 */
import { z } from "zod";
import type { Config, ModelEnv } from "../core/config.ts";
import { closestWord } from "../core/closest.ts";
import { jsonErrorAt } from "../core/config-files.ts";
import { ConfigError } from "../core/errors.ts";
import type { AgentRole } from "./model-types.ts";

/** The providers kforge knows. */
export const PROVIDERS = ["deepseek", "openai-compatible", "offline"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** DeepSeek's API: R1 is served as `deepseek-reasoner`. */
export const DEEPSEEK_BASE_URL = "https://api.deepseek.com";
export const DEEPSEEK_MODEL = "deepseek-reasoner";

/** Every role that calls a model. */
export const ROLES: readonly AgentRole[] = ["planner", "coder", "critic", "profiler"];

/** Settings of one model endpoint. */
export interface ModelSettings {
  provider: ProviderName;
  model: string;
  baseUrl: string | undefined;
  apiKey: string | undefined;
}

const Provider = z.enum(PROVIDERS);
const RoleOverride = z.strictObject({
  provider: Provider.optional(),
  model: z.string().optional(),
  baseUrl: z.string().optional(),
  apiKey: z.string().optional(),
});
const RoleModels = z.partialRecord(z.enum(["planner", "coder", "critic", "profiler"]), RoleOverride);
type RoleOverride = z.infer<typeof RoleOverride>;

function provider(env: ModelEnv): ProviderName {
  if (env.invalid) {
    // Named where it was set: a settings file's key, or the environment variable.
    const { variable, message, file, expected } = env.invalid;
    const fix = expected ? `set ${variable} to ${expected}` : `fix ${variable}`;
    if (file !== undefined)
      throw new ConfigError(`settings file ${file}: ${variable} is invalid: ${message}`, {
        hint: `${fix} in ${file}, or remove it from that file`,
      });
    throw new ConfigError(`environment variable ${variable} is invalid: ${message}`, { hint: `${fix}, or unset it in the environment` });
  }
  if (env.provider === undefined) return env.baseUrl ? "openai-compatible" : env.deepseekApiKey ? "deepseek" : "offline";
  const p = Provider.safeParse(env.provider);
  if (!p.success) {
    // Named where it was set, with the closest provider when the value looks like a typo of one.
    const near = closestWord(env.provider, PROVIDERS);
    const what = `KFORGE_PROVIDER "${env.provider}" is not a provider${near ? ` (did you mean ${near}?)` : ""}`;
    const use = `use one of ${PROVIDERS.join(", ")}`;
    const file = env.files["KFORGE_PROVIDER"];
    if (file !== undefined)
      throw new ConfigError(`settings file ${file}: ${what}`, {
        hint: `${use} in ${file} (e.g. "KFORGE_PROVIDER": "${near ?? PROVIDERS[0]}"), or remove it from that file`,
        context: { variable: "KFORGE_PROVIDER", file },
      });
    throw new ConfigError(`environment variable ${what}`, {
      hint: `${use} (e.g. export KFORGE_PROVIDER=${near ?? PROVIDERS[0]}), or unset it in the environment`,
      context: { variable: "KFORGE_PROVIDER" },
    });
  }
  return p.data;
}

/** An override of one role, as KFORGE_ROLE_MODELS's examples show it. */
const ROLE_MODELS_EXAMPLE = JSON.stringify({ critic: { model: "deepseek-chat" } });

/** The default settings (every role without an override), with the provider's defaults filled in. */
export function defaultModelSettings(config: Config): ModelSettings {
  const env = config.modelEnv;
  const p = provider(env);
  if (p === "deepseek")
    return { provider: p, model: env.model ?? DEEPSEEK_MODEL, baseUrl: env.deepseekBaseUrl ?? DEEPSEEK_BASE_URL, apiKey: env.deepseekApiKey };
  if (p === "offline") return { provider: p, model: "offline", baseUrl: undefined, apiKey: undefined };
  return { provider: p, model: env.model ?? "", baseUrl: env.baseUrl, apiKey: env.apiKey };
}

/**
 * KFORGE_ROLE_MODELS parsed, or a ConfigError saying what is wrong with it and where it was set: the environment
 * variable, or the settings file (where its value is a JSON string holding the JSON, and the hint shows that form).
 */
export function roleOverrides(config: Config): Partial<Record<AgentRole, RoleOverride>> {
  const raw = config.modelEnv.roleModels;
  if (!raw) return {};
  const file = config.modelEnv.files["KFORGE_ROLE_MODELS"];
  const lead = file !== undefined ? `settings file ${file}: KFORGE_ROLE_MODELS` : "environment variable KFORGE_ROLE_MODELS";
  const context = { variable: "KFORGE_ROLE_MODELS", ...(file !== undefined ? { file } : {}) };
  const where = file !== undefined ? `fix it in ${file}, or remove it from that file` : "fix it in the environment, or unset it";
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`${lead} is not valid JSON${jsonErrorAt(raw, (err as Error).message, " of its value")}`, {
      hint:
        file !== undefined
          ? `in a settings file write the object itself, e.g. "KFORGE_ROLE_MODELS": ${ROLE_MODELS_EXAMPLE} (or a string holding that JSON, inner quotes escaped); ${where}`
          : `example: export KFORGE_ROLE_MODELS='${ROLE_MODELS_EXAMPLE}'; ${where}`,
      cause: err,
      context,
    });
  }
  const parsed = RoleModels.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // Not an object of roles at all: say what it is and what it should be.
    const what =
      issue?.code === "invalid_type" && issue.path.length === 0
        ? `${lead} must be a JSON object of roles, e.g. ${ROLE_MODELS_EXAMPLE}, not ${jsonKind(json)}`
        : issue?.code === "unrecognized_keys"
          ? `${lead}${issue.path.length ? ` at ${issue.path.join(".")}` : ""}: ${unknownKeys(issue.keys, issue.path.length ? OVERRIDE_FIELDS : ROLES, issue.path.length ? "field" : "role")}`
          : `${lead} at ${issue?.path.join(".") || "top level"}: ${issue?.message}${closeProvider(issue, json)}`;
    // One unknown name close to a known one: the rename is the fix.
    const only = issue?.code === "unrecognized_keys" && issue.keys.length === 1 ? issue.keys[0]! : undefined;
    const near = only !== undefined ? closestWord(only, issue?.path.length ? OVERRIDE_FIELDS : ROLES) : undefined;
    throw new ConfigError(what, {
      hint: `${near ? `rename "${only}" to ${near}; ` : ""}roles are ${ROLES.join(", ")}; each takes {${OVERRIDE_FIELDS.map((f) => `${f}?`).join(", ")}}; ${where}`,
      context,
    });
  }
  return parsed.data;
}

/** The fields of one role's override. */
const OVERRIDE_FIELDS = Object.keys(RoleOverride.shape);

/** Unknown roles or fields, each with the known one it is closest to (a typo's likely fix): 'unknown role "critc" (did you mean critic?)'. */
function unknownKeys(keys: readonly string[], known: readonly string[], kind: string): string {
  const named = keys.map((k) => {
    const near = closestWord(k, known);
    return `"${k}"${near ? ` (did you mean ${near}?)` : ""}`;
  });
  return `unknown ${kind}${keys.length === 1 ? "" : "s"} ${named.join(", ")}`;
}

/** " (did you mean deepseek?)" when a role's provider that is not one is close to one. */
function closeProvider(issue: z.core.$ZodIssue | undefined, json: unknown): string {
  if (issue?.code !== "invalid_value" || issue.path.at(-1) !== "provider") return "";
  let value: unknown = json;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  const near = typeof value === "string" ? closestWord(value, PROVIDERS) : undefined;
  return near ? ` (did you mean ${near}?)` : "";
}

/** A JSON value's kind, as a message names it. */
function jsonKind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "string" ? "a string" : `a ${typeof value}`;
}

/** The effective settings of a role: the default model with the role's overrides on top. */
export function resolveModelSettings(config: Config, role: AgentRole): ModelSettings {
  const base = defaultModelSettings(config);
  const over = roleOverrides(config)[role] ?? {};
  const p: ProviderName = over.provider ?? base.provider;
  // A role that switches provider must not inherit the other provider's URL or key.
  const same = p === base.provider;
  const inherit = <K extends "model" | "baseUrl" | "apiKey">(k: K) => over[k] ?? (same ? base[k] : undefined);
  if (p === "deepseek") {
    return {
      provider: p,
      model: inherit("model") || DEEPSEEK_MODEL,
      baseUrl: inherit("baseUrl") ?? config.modelEnv.deepseekBaseUrl ?? DEEPSEEK_BASE_URL,
      apiKey: inherit("apiKey") ?? config.modelEnv.deepseekApiKey,
    };
  }
  if (p === "offline") return { provider: p, model: "offline", baseUrl: undefined, apiKey: undefined };
  return { provider: p, model: inherit("model") ?? "", baseUrl: inherit("baseUrl"), apiKey: inherit("apiKey") };
}
