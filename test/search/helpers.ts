/** Builds in-process searches over real parts: a SQLite file, the scripted server, the LLM agents, a Verifier. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../core/config.ts";
import { createAgents } from "../../agents/model.ts";
import type { SpendGate } from "../../agents/spend-gate.ts";
import type { BreakerListener } from "../../agents/breaker.ts";
import { openDatabase, type DB } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { Verifier } from "../../tools/verifier/types.ts";
import type { Profiler } from "../../tools/profiler/types.ts";
import { DEFAULT_SEARCH_OPTIONS, type Progress, type SearchOptions, type WinsMemory } from "../../graph/deps.ts";
import type { BudgetLimits } from "../../graph/budget.ts";
import type { SearchSetup } from "../../graph/run.ts";

/** A temp dir with a kforge database; `cleanup()` closes and removes it. */
export function tempDb(): { dir: string; path: string; db: DB; store: TraceStore; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "kforge-search-"));
  const path = join(dir, "kforge.sqlite");
  const db = openDatabase(path);
  const store = new TraceStore(db).setup();
  return {
    dir,
    path,
    db,
    store,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config for the scripted server at `baseUrl` (no real environment read); `env` adds or overrides variables. */
export function scriptedConfig(baseUrl: string, model = "scripted-model", env: Record<string, string> = {}): Config {
  return loadConfig({ KFORGE_PROVIDER: "openai-compatible", KFORGE_BASE_URL: baseUrl, KFORGE_MODEL: model, KFORGE_HOME: tmpdir(), ...env });
}

/** The LLM agents over the scripted server at `baseUrl` (built by agents/model.ts as a search builds them), with fast retries. */
export function scriptedAgents(
  baseUrl: string,
  store: TraceStore,
  model = "scripted-model",
  more: { env?: Record<string, string>; spend?: SpendGate; onBreaker?: BreakerListener } = {},
) {
  return createAgents(scriptedConfig(baseUrl, model, more.env), {
    record: (c) => store.recordLlmCall(c),
    gpu: "test GPU",
    client: { retry: { baseDelayMs: 1, maxDelayMs: 5 } },
    ...(more.spend ? { spend: more.spend } : {}),
    ...(more.onBreaker ? { onBreaker: more.onBreaker } : {}),
  });
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
  /** Extra environment for the config (breaker and reply limits). */
  env?: Record<string, string>;
  /** The run's budget gate (what `kforge search` builds from the limits). */
  spend?: SpendGate;
  /** The run's id, when breaker events should be recorded in its trace as `kforge search` records them. */
  runId?: string;
}): SearchSetup & { progress: ReturnType<typeof recordingProgress> } {
  const progress = recordingProgress();
  const endpointDown = new AbortController();
  // As cli/search/components.ts wires it: into the trace and the progress, and the run stops when the breaker gives up.
  const onBreaker: BreakerListener = (kind, message) => {
    if (p.runId) p.store.recordEvent(p.runId, null, kind, message);
    progress.log(message);
    if (kind === "endpoint_unreachable") endpointDown.abort(new Error(message));
  };
  return {
    db: p.db,
    store: p.store,
    problem: p.problem,
    verifier: p.verifier,
    profiler: p.profiler ?? null,
    agents: scriptedAgents(p.baseUrl, p.store, p.model, { ...(p.env ? { env: p.env } : {}), ...(p.spend ? { spend: p.spend } : {}), onBreaker }),
    endpointDown: endpointDown.signal,
    memory: p.memory ?? null,
    limits: p.limits,
    ...(p.spend ? { spend: p.spend } : {}),
    options: { ...DEFAULT_SEARCH_OPTIONS, ...p.options },
    gpu: "test GPU",
    progress,
    signal: p.signal ?? new AbortController().signal,
  };
}
