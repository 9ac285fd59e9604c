/**
 * What `kforge config` says of the model: which provider and model a search started now would use, and
 * why, resolved by agents/model.ts exactly as `search` resolves them (no request is made; `doctor` checks
 * the endpoint answers). Also the checks `search` and the queue make of a setting beyond its schema.
 */
import { existsSync, statSync } from "node:fs";
import type { Config, EffectiveSetting } from "../../core/config.ts";
import { KforgeError } from "../../core/errors.ts";
import { defaultModelSettings, resolveEndpoint, usesOfflinePolicy } from "../../agents/model.ts";
import { roleOverrides, ROLES } from "../../agents/model-settings.ts";
import type { AgentRole } from "../../agents/model-types.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";

/** One role's model as a search would call it. */
export interface RoleModel {
  role: AgentRole;
  provider: string;
  model: string;
  baseUrl: string;
}

/** The model side of a search started now. */
export type SearchModel =
  | {
      /** The offline template-and-mutation policy: no model is called. */
      policy: "offline";
      provider: "offline";
      model: null;
      /** Why: "KFORGE_PROVIDER, from WHERE", or "default, as ..." (the selection rule's reason). */
      providerFrom: string;
    }
  | {
      policy: "model";
      /** The default endpoint (every role without a KFORGE_ROLE_MODELS override). */
      provider: string;
      model: string;
      baseUrl: string;
      providerFrom: string;
      modelFrom: string;
      /** Roles whose endpoint differs from the default one (KFORGE_ROLE_MODELS). */
      roles: RoleModel[];
    };

/** A setting (or the model selection) a command would refuse, with where it came from and what is wrong. */
export interface SettingProblem {
  /** The setting's name (KFORGE_PROVIDER when it is not a provider), or "search model" when the selection as a whole cannot be resolved. */
  name: string;
  message: string;
  hint?: string;
  /** Where it came from: "the environment" or a settings file; for the model selection, the settings involved. */
  from: string;
  /** For the model selection: the settings its message or hint names (set or not), whose lines it flags. */
  settings?: string[];
}

/** The selection rule of KFORGE_PROVIDER when it is unset (README's settings table). */
export const PROVIDER_RULE = "deepseek with DEEPSEEK_API_KEY, openai-compatible with KFORGE_BASE_URL, else offline";

const MODEL_SETTINGS = ["KFORGE_PROVIDER", "KFORGE_BASE_URL", "DEEPSEEK_BASE_URL", "KFORGE_MODEL", "KFORGE_ROLE_MODELS"];

/** "the environment", "project file PATH", "home file PATH" or "default". */
export function whereFrom(r: EffectiveSetting): string {
  return r.source === "env" ? "the environment" : r.source === "default" ? "default" : `${r.source} file ${r.file}`;
}

/**
 * The provider and model a search would use now, or what stops it from choosing one (as a SettingProblem).
 * Invalid model limits are left out here: they are problems of their own settings, listed apart.
 */
export function searchModel(
  config: Config,
  rows: EffectiveSetting[],
): { model: SearchModel } | { problem: SettingProblem; provider: { name: string; from: string; model: string } | null } {
  const cfg: Config = { ...config, modelEnv: { ...config.modelEnv, invalid: undefined } };
  const row = (name: string) => rows.find((r) => r.name === name)!;
  const isSet = (name: string) => row(name).source !== "default";
  const providerFrom = (provider: string) =>
    isSet("KFORGE_PROVIDER")
      ? `KFORGE_PROVIDER, from ${whereFrom(row("KFORGE_PROVIDER"))}`
      : provider === "offline"
        ? "default, as neither DEEPSEEK_API_KEY nor KFORGE_BASE_URL is set"
        : provider === "openai-compatible"
          ? `default, as KFORGE_BASE_URL is set (${whereFrom(row("KFORGE_BASE_URL"))})`
          : `default, as DEEPSEEK_API_KEY is set (${whereFrom(row("DEEPSEEK_API_KEY"))})`;
  try {
    const offline = usesOfflinePolicy(cfg);
    if (offline) return { model: { policy: "offline", provider: "offline", model: null, providerFrom: providerFrom("offline") } };
    const endpoints = ROLES.map((role) => ({ role, ...resolveEndpoint(cfg, role) }));
    const overridden = roleOverrides(cfg);
    const base = endpoints.find((e) => !overridden[e.role]) ?? endpoints[0]!;
    const modelFrom = isSet("KFORGE_MODEL")
      ? `KFORGE_MODEL, from ${whereFrom(row("KFORGE_MODEL"))}`
      : `default, ${base.provider}'s${overridden[base.role] ? " (KFORGE_ROLE_MODELS)" : ""}`;
    const roles = endpoints
      .filter((e) => e.provider !== base.provider || e.model !== base.model || e.baseUrl !== base.baseUrl)
      .map(({ role, provider, model, baseUrl }) => ({ role, provider, model, baseUrl }));
    return {
      model: {
        policy: "model",
        provider: base.provider,
        model: base.model,
        baseUrl: base.baseUrl,
        providerFrom: providerFrom(base.provider),
        modelFrom,
        roles,
      },
    };
  } catch (err) {
    if (!(err instanceof KforgeError)) throw err;
    // The settings the error names (or, naming none, the model settings given), with their sources.
    const text = `${err.message} ${err.hint ?? ""}`;
    const named = rows.filter((r) => new RegExp(`\\b${r.name}\\b`).test(text));
    const given = named.filter((r) => isSet(r.name));
    const involved = given.length ? given : rows.filter((r) => MODEL_SETTINGS.includes(r.name) && isSet(r.name));
    const from = involved.length ? involved.map((r) => `${r.name} in ${whereFrom(r)}`).join(", ") : "the defaults";
    // The provider, when that much is settled (a model name or a key may be what is missing).
    let provider: { name: string; from: string; model: string } | null = null;
    try {
      const d = defaultModelSettings(cfg);
      provider = { name: d.provider, from: providerFrom(d.provider), model: d.model };
    } catch {
      // KFORGE_PROVIDER itself is what is wrong: the problem says so.
    }
    // An error about one setting's own value (a provider that is not one, KFORGE_ROLE_MODELS that does not parse) is
    // that setting's problem, named as such; one about the selection as a whole (a missing key or model) is "search model".
    const variable = (err.context as { variable?: unknown } | undefined)?.variable;
    const own = rows.find((r) => r.name === variable && isSet(r.name));
    const problem = {
      name: own?.name ?? "search model",
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
      from: own ? whereFrom(own) : from,
      settings: named.map((r) => r.name),
    };
    return { problem, provider };
  }
}

/** The checks beyond a setting's schema that the command using it makes: the queue's URL, its CA file. */
export function usageProblems(config: Config, rows: EffectiveSetting[]): SettingProblem[] {
  const row = (name: string) => rows.find((r) => r.name === name)!;
  const out: SettingProblem[] = [];
  if (config.queue.url) {
    try {
      parseQueueUrl(config.queue.url, config.queue.tlsCa);
    } catch (err) {
      if (!(err instanceof KforgeError)) throw err;
      out.push({ name: "KFORGE_QUEUE", message: err.message, ...(err.hint ? { hint: err.hint } : {}), from: whereFrom(row("KFORGE_QUEUE")) });
    }
  }
  const ca = config.queue.tlsCa;
  if (ca && !(existsSync(ca) && statSync(ca).isFile()))
    out.push({
      name: "KFORGE_QUEUE_TLS_CA",
      message: `${ca} is not a file`,
      hint: "name the PEM file of the CA that signed the Redis server's certificate",
      from: whereFrom(row("KFORGE_QUEUE_TLS_CA")),
    });
  return out;
}
