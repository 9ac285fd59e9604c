/**
 * The real edges of a search, chosen from the config: the verifier pool, the ncu profiler, the
 * agents (a model per role, or the offline policy when no model is configured) and the memory of wins.
 */
import type { Config } from "../../core/config.ts";
import type { DB } from "../../memory/db.ts";
import type { TraceStore } from "../../memory/trace-store.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { Verifier } from "../../tools/verifier/types.ts";
import type { Profiler } from "../../tools/profiler/types.ts";
import type { Agents } from "../../agents/types.ts";
import type { AgentRole, ModelClient } from "../../agents/model-types.ts";
import type { WinsMemory } from "../../graph/deps.ts";
import { createModelClient, resolveModelSettings } from "../../agents/model.ts";
import { createLlmAgents } from "../../agents/llm-agents.ts";
import { openWinsMemory } from "../../graph/wins-memory.ts";
import { NcuProfiler } from "../../tools/profiler/ncu.ts";
import { ConfigError } from "../../core/errors.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";
import { createOfflineAgents } from "../../agents/offline-agents.ts";

/** The opened edges and how to close them. */
export interface SearchComponents {
  verifier: Verifier;
  profiler: Profiler | null;
  agents: Agents;
  memory: WinsMemory | null;
  /** The GPU's name when known before a baseline is measured. */
  gpu: string | null;
  close(): Promise<void>;
}

const ROLES: AgentRole[] = ["planner", "coder", "critic", "profiler"];

/** Opens every edge of a search for `problem`. */
export async function openComponents(config: Config, problem: LoadedProblem, db: DB, store: TraceStore): Promise<SearchComponents> {
  const verifier = createVerifierPool(config, { problem });
  const cpu = (problem.spec as { device?: string }).device === "cpu";
  return {
    verifier,
    // ncu profiles CUDA kernels only: a CPU problem has nothing to profile.
    profiler: cpu ? null : new NcuProfiler(config),
    agents: await createAgents(config, store),
    memory: openWinsMemory(db),
    gpu: null,
    close: () => verifier.close(),
  };
}

/** The LLM agents when every role has a model; the offline policy when the provider is offline. */
export async function createAgents(config: Config, store: TraceStore): Promise<Agents> {
  const offline = ROLES.filter((r) => resolveModelSettings(config, r).provider === "offline");
  if (offline.length === ROLES.length) return createOfflineAgents(config);
  if (offline.length > 0) {
    throw new ConfigError(`roles ${offline.join(", ")} have no model while others do`, { hint: "give every role a model in KFORGE_ROLE_MODELS, or none" });
  }
  const clients = new Map<AgentRole, ModelClient>();
  for (const role of ROLES) clients.set(role, createModelClient(config, role));
  return createLlmAgents({ client: (role) => clients.get(role)!, record: (c) => store.recordLlmCall(c), gpu: "an NVIDIA H100 (SXM, 80 GB)" });
}
