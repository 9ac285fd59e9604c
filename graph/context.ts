/**
 * The graph's run context: the live objects its nodes use (trace store, verifier, agents, ...),
 * handed to each run as `invoke(input, { context })` instead of being closed over when the graph
 * is built. That is what lets one module-level graph exist (graph.ts), which LangGraph's CLI and
 * Studio load through langgraph.json. The context is not checkpointed: a resume passes it again.
 * A JSON-only client (Studio, the dev server's HTTP API) can show the graph and its state but cannot
 * build live objects, so a run started there is refused by this schema, which names what is missing.
 */
import { z } from "zod";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { GraphDeps } from "./deps.ts";

/** A live object of type T with these methods (LangGraph parses the context with this schema before a run). */
function live<T>(what: string, ...methods: string[]) {
  return z.custom<T>(
    (v) => typeof v === "object" && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
    `the graph context needs ${what} (an object with ${methods.join(", ")})`,
  );
}

/** The context schema: GraphDeps, field by field (see deps.ts for what each one is). */
export const SearchContext = z.object({
  runId: z.string().min(1),
  problem: z.custom<GraphDeps["problem"]>((v) => typeof v === "object" && v !== null && "spec" in v, "the graph context needs the loaded problem"),
  store: live<GraphDeps["store"]>("the trace store", "getNode", "upsertNode"),
  verifier: live<GraphDeps["verifier"]>("a verifier", "verify"),
  profiler: live<NonNullable<GraphDeps["profiler"]>>("a profiler", "profile").nullable(),
  agents: live<GraphDeps["agents"]>("the agents", "plan", "code"),
  memory: live<NonNullable<GraphDeps["memory"]>>("the wins memory", "retrieve", "remember").nullable(),
  limits: z.custom<GraphDeps["limits"]>((v) => typeof v === "object" && v !== null, "the graph context needs the budget limits"),
  spend: live<NonNullable<GraphDeps["spend"]>>("a spend gate", "exhausted").optional(),
  options: z.custom<GraphDeps["options"]>((v) => typeof v === "object" && v !== null, "the graph context needs the search options"),
  elapsedMs: z.custom<GraphDeps["elapsedMs"]>((v) => typeof v === "function", "the graph context needs elapsedMs()"),
  baseline: z.custom<NonNullable<GraphDeps["baseline"]>>((v) => typeof v === "object" && v !== null).optional(),
  gpu: z.string().nullable(),
  signal: z.instanceof(AbortSignal),
  progress: live<GraphDeps["progress"]>("a progress sink", "activity", "log"),
  lanes: live<GraphDeps["lanes"]>("the verification lanes", "stats"),
  expansions: live<GraphDeps["expansions"]>("the expansions runner", "ensure", "next"),
});

// Compile-time check that the schema and GraphDeps describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameShape: Same<z.infer<typeof SearchContext>, GraphDeps> = true;

/** The run config a node receives, with the search context in it. */
export type SearchConfig = LangGraphRunnableConfig<GraphDeps>;

/** The context of the run a node belongs to (a clear error when the graph was invoked without one). */
export function depsOf(config: SearchConfig): GraphDeps {
  if (!config.context) throw new Error("the search graph ran without its context: invoke it with { context: GraphDeps } (graph/run.ts does)");
  return config.context;
}
