/** Builds in-process searches over real parts: a SQLite file, the scripted server, the LLM agents, a Verifier. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../core/config.ts";
import { createModelClient } from "../../agents/model.ts";
import { createLlmAgents } from "../../agents/llm-agents.ts";
import { openDatabase, type DB } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { Verifier } from "../../tools/verifier/types.ts";
import type { Profiler } from "../../tools/profiler/types.ts";
import type { AgentRole, ModelClient } from "../../agents/model-types.ts";
import { DEFAULT_SEARCH_OPTIONS, type Progress, type SearchOptions, type WinsMemory } from "../../graph/deps.ts";
import type { BudgetLimits } from "../../graph/budget.ts";
import type { SearchSetup } from "../../graph/run.ts";

/** A temp dir with a kforge database; `cleanup()` closes and removes it. */
export function tempDb(): { dir: string; path: string; db: DB; store: TraceStore; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "kforge-search-"));
  const path = join(dir, "kforge.sqlite");
  const db = openDatabase(path);
  const store = new TraceStore(db).setup();
  return { dir, path, db, store, cleanup: () => (db.close(), rmSync(dir, { recursive: true, force: true })) };
}

/** The LLM agents over the scripted server at `baseUrl`, with fast retries. */
export function scriptedAgents(baseUrl: string, store: TraceStore, model = "scripted-model") {
  const config = loadConfig({ KFORGE_PROVIDER: "openai-compatible", KFORGE_BASE_URL: baseUrl, KFORGE_MODEL: model, KFORGE_HOME: tmpdir() });
  const clients = new Map<AgentRole, ModelClient>();
  const client = (role: AgentRole) => {
    let c = clients.get(role);
    if (!c) clients.set(role, (c = createModelClient(config, role, { retry: { baseDelayMs: 1, maxDelayMs: 5 } })));
    return c;
  };
  return createLlmAgents({ client, record: (c) => store.recordLlmCall(c), gpu: "test GPU" });
}

/** A progress sink that keeps log lines. */
export function recordingProgress(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return { lines, activity: () => {}, log: (l) => lines.push(l) };
}

/** A complete setup for `driveRun`. */
export function searchSetup(p: {
  db: DB;
  store: TraceStore;
  problem: LoadedProblem;
  verifier: Verifier;
  baseUrl: string;
  limits: BudgetLimits;
  options?: Partial<SearchOptions>;
  profiler?: Profiler | null;
  memory?: WinsMemory | null;
  signal?: AbortSignal;
  /** The model name the client asks for (a name in agents/pricing.ts makes calls cost money). */
  model?: string;
}): SearchSetup {
  return {
    db: p.db,
    store: p.store,
    problem: p.problem,
    verifier: p.verifier,
    profiler: p.profiler ?? null,
    agents: scriptedAgents(p.baseUrl, p.store, p.model),
    memory: p.memory ?? null,
    limits: p.limits,
    options: { ...DEFAULT_SEARCH_OPTIONS, ...p.options },
    gpu: "test GPU",
    progress: recordingProgress(),
    signal: p.signal ?? new AbortController().signal,
  };
}
