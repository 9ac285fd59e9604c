/**
 * The one place a model is chosen: config (+ per-role overrides) in, a ready ModelClient out.
 */
import type { Config, ModelSettings, ProviderName } from "../core/config.ts";
import { ConfigError } from "../core/errors.ts";
import type { AgentRole, ModelClient } from "./model-types.ts";
import { ChatClient, type ChatClientOptions, type Endpoint } from "./chat-client.ts";

/** DeepSeek's API: R1 is served as `deepseek-reasoner`. */
export const DEEPSEEK_BASE_URL = "https://api.deepseek.com";
export const DEEPSEEK_MODEL = "deepseek-reasoner";

const SETUP_HINT =
  "set DEEPSEEK_API_KEY=sk-... (DeepSeek-R1 via api.deepseek.com), or KFORGE_PROVIDER=openai-compatible " +
  "KFORGE_BASE_URL=http://host:8000/v1 KFORGE_MODEL=<served model name> [KFORGE_API_KEY=...] for vLLM/SGLang";

/** The effective settings of a role: the default model with the role's overrides on top. */
export function resolveModelSettings(config: Config, role: AgentRole): ModelSettings {
  const base = config.model;
  const over = config.roleModels[role] ?? {};
  const provider: ProviderName = over.provider ?? base.provider;
  // A role that switches provider must not inherit the other provider's URL or key.
  const same = provider === base.provider;
  const inherit = <K extends "model" | "baseUrl" | "apiKey">(k: K) => over[k] ?? (same ? base[k] : undefined);
  if (provider === "deepseek") {
    return {
      provider,
      model: inherit("model") || DEEPSEEK_MODEL,
      baseUrl: inherit("baseUrl") ?? DEEPSEEK_BASE_URL,
      apiKey: inherit("apiKey") ?? config.deepseekApiKey,
    };
  }
  return { provider, model: inherit("model") ?? "", baseUrl: inherit("baseUrl"), apiKey: inherit("apiKey") };
}

/**
 * Builds the client for a role. Throws ConfigError for `offline` (no model: the offline policy
 * lives elsewhere) and for incomplete settings, saying which variable to set.
 */
export function createModelClient(config: Config, role: AgentRole, opts: ChatClientOptions = {}): ModelClient {
  const s = resolveModelSettings(config, role);
  const where = config.roleModels[role] ? ` (role "${role}" via KFORGE_ROLE_MODELS)` : "";
  if (s.provider === "offline") {
    throw new ConfigError(`no model provider is configured${where}: provider is "offline", which has no model client`, {
      hint: SETUP_HINT,
    });
  }
  if (s.provider === "deepseek" && !s.apiKey) {
    throw new ConfigError(`provider deepseek needs an API key${where}`, {
      hint: "set DEEPSEEK_API_KEY (create one at https://platform.deepseek.com/api_keys)",
    });
  }
  if (!s.baseUrl) {
    throw new ConfigError(`provider openai-compatible needs a base URL${where}`, {
      hint: "set KFORGE_BASE_URL=http://host:8000/v1 (the server's OpenAI-compatible root)",
    });
  }
  if (!s.model) {
    throw new ConfigError(`provider openai-compatible needs a model name${where}`, {
      hint: `set KFORGE_MODEL to a name the server serves (list them: curl ${s.baseUrl}/models)`,
    });
  }
  let baseUrl: string;
  try {
    baseUrl = normalizeBaseUrl(s.baseUrl, s.provider);
  } catch (err) {
    throw new ConfigError(`model base URL "${s.baseUrl}" is not a valid http(s) URL${where}`, {
      hint: "use e.g. http://127.0.0.1:8000/v1",
      cause: err,
    });
  }
  const endpoint: Endpoint = { provider: s.provider, model: s.model, baseUrl, apiKey: s.apiKey };
  return new ChatClient(endpoint, {
    ...(config.modelTimeoutMs !== undefined ? { timeoutMs: config.modelTimeoutMs } : {}),
    ...(config.modelIdleTimeoutMs !== undefined ? { idleTimeoutMs: config.modelIdleTimeoutMs } : {}),
    ...opts,
  });
}

/**
 * Trims trailing slashes; a bare host for openai-compatible gets `/v1`, where vLLM and SGLang
 * serve the API (a frequent slip: `http://host:8000` answers 404 to every call).
 */
export function normalizeBaseUrl(raw: string, provider: ProviderName): string {
  const url = new URL(raw);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported protocol ${url.protocol}`);
  if (provider === "openai-compatible" && (url.pathname === "" || url.pathname === "/")) url.pathname = "/v1";
  return url.toString().replace(/\/+$/, "");
}
