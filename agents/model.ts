/**
 * The one place a model is chosen: config (+ per-role overrides) in, a ready ModelClient out, and
 * the agents of a search: LLM agents when every role has a model, the offline policy when none has.
 */
import type { Config } from "../core/config.ts";
import { ConfigError } from "../core/errors.ts";
import { createRedactor } from "../core/redact.ts";
import type { LlmCallRecord } from "../memory/trace-types.ts";
import type { AgentRole, ModelClient } from "./model-types.ts";
import type { Agents } from "./types.ts";
import { ChatClient, type ChatClientOptions, type Endpoint } from "./chat-client.ts";
import { resolveModelSettings, roleOverrides, ROLES, type ProviderName } from "./model-settings.ts";
import { createLlmAgents } from "./llm-agents.ts";
import { createOfflineAgents } from "./offline-agents.ts";
import { EndpointBreaker, type BreakerListener } from "./breaker.ts";
import type { SpendGate } from "./spend-gate.ts";

export {
  DEEPSEEK_BASE_URL,
  DEEPSEEK_MODEL,
  resolveModelSettings,
  defaultModelSettings,
  type ModelSettings,
  type ProviderName,
} from "./model-settings.ts";

const SETUP_HINT =
  "set DEEPSEEK_API_KEY=sk-... (DeepSeek-R1 via api.deepseek.com), or KFORGE_PROVIDER=openai-compatible " +
  "KFORGE_BASE_URL=http://host:8000/v1 KFORGE_MODEL=<served model name> [KFORGE_API_KEY=...] for vLLM/SGLang";

/** The endpoint of a role, checked: throws ConfigError for `offline` and for incomplete settings, naming the variable to set. */
export function resolveEndpoint(config: Config, role: AgentRole): Endpoint {
  const s = resolveModelSettings(config, role);
  const where = roleOverrides(config)[role] ? ` (role "${role}" via KFORGE_ROLE_MODELS)` : "";
  if (s.provider === "offline") {
    throw new ConfigError(`no model provider is configured${where}: provider is "offline", which has no model client`, { hint: SETUP_HINT });
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
  return { provider: s.provider, model: s.model, baseUrl, apiKey: s.apiKey };
}

/** Builds the client for a role (see resolveEndpoint for the errors). */
export function createModelClient(config: Config, role: AgentRole, opts: ChatClientOptions = {}): ModelClient {
  return new ChatClient(resolveEndpoint(config, role), { limits: config.modelLimits, redactor: createRedactor(config.secrets) }, opts);
}

/** Whether a search runs the offline policy: every role is offline. Throws when only some are. */
export function usesOfflinePolicy(config: Config): boolean {
  const offline = ROLES.filter((r) => resolveModelSettings(config, r).provider === "offline");
  if (offline.length === ROLES.length) return true;
  if (offline.length > 0) {
    throw new ConfigError(`roles ${offline.join(", ")} have no model while others do`, {
      hint: "give every role a model in KFORGE_ROLE_MODELS, or none",
    });
  }
  return false;
}

/** The distinct endpoints of the roles (what a pre-flight check must reach). */
export function searchEndpoints(config: Config): Endpoint[] {
  if (usesOfflinePolicy(config)) return [];
  const seen = new Map<string, Endpoint>();
  for (const role of ROLES) {
    const e = resolveEndpoint(config, role);
    seen.set(`${e.baseUrl} ${e.model} ${e.apiKey ?? ""}`, e);
  }
  return [...seen.values()];
}

/** What a search's agents record and report, and the run's budgets they reserve against. */
export interface AgentsSetup {
  record(call: LlmCallRecord): void;
  /** The GPU the prompts name (read at each prompt: the verifier probes it once the run has started). */
  gpu: string | (() => string);
  spend?: SpendGate;
  /** Hears the endpoint breaker open, probe, close or give up. */
  onBreaker?: BreakerListener;
  /** Client tuning for tests (fast retries). */
  client?: ChatClientOptions;
}

/** The agents of a search: the LLM agents when every role has a model, the offline policy when the provider is offline. */
export function createAgents(config: Config, setup: AgentsSetup): Agents {
  if (usesOfflinePolicy(config)) return createOfflineAgents(config);
  const clients = new Map<AgentRole, ModelClient>();
  // One breaker per endpoint: roles served by another server keep going while one is down.
  const breakers = new Map<AgentRole, EndpointBreaker>();
  const byUrl = new Map<string, EndpointBreaker>();
  for (const role of ROLES) {
    clients.set(role, createModelClient(config, role, setup.client));
    const url = resolveEndpoint(config, role).baseUrl;
    if (!byUrl.has(url)) byUrl.set(url, new EndpointBreaker(config.modelLimits, setup.onBreaker));
    breakers.set(role, byUrl.get(url)!);
  }
  const gpu = setup.gpu;
  return createLlmAgents({
    client: (role) => clients.get(role)!,
    record: setup.record,
    get gpu() {
      return typeof gpu === "function" ? gpu() : gpu;
    },
    maxTokens: config.modelLimits.maxReplyTokens,
    breaker: (role) => breakers.get(role)!,
    ...(setup.spend ? { spend: setup.spend } : {}),
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
