/**
 * The search, on one screen. The search graph: select (the tree policy fills the pipeline's free
 * slots) → collect (runs the open expansions, waits for one to finish) → select ... until the budget
 * ends it and the open expansions have drained. One expansion, on a checkpoint thread of its own:
 * plan → code (one Send per idea, in parallel) → verify → profile → critique → remember. Several run
 * at once (graph/expansions.ts), so coders, verification and critiques of different nodes overlap.
 * Nodes take their live dependencies from the run's context (context.ts), so the graphs are built once, here.
 */
import { END, START, Send, StateGraph } from "@langchain/langgraph";
import { ExpansionState, SearchState, type ExpansionStateValue, type SearchStateValue } from "./state.ts";
import { SearchContext, depsOf, type SearchConfig } from "./context.ts";
import { select } from "./nodes/select.ts";
import { collect } from "./nodes/collect.ts";
import { plan } from "./nodes/plan.ts";
import { code } from "./nodes/code.ts";
import { verify } from "./nodes/verify.ts";
import { profile } from "./nodes/profile.ts";
import { critique } from "./nodes/critique.ts";
import { remember } from "./nodes/remember.ts";

/** The uncompiled expansion graph: one node's children, from plan to memory (graph/run.ts compiles it with the checkpointer). */
export const expansionGraphBuilder = new StateGraph(ExpansionState, SearchContext)
  .addNode("plan", (s: ExpansionStateValue, c: SearchConfig) => plan(s, depsOf(c)))
  .addNode("code", (s: ExpansionStateValue, c: SearchConfig) => code(s, depsOf(c)))
  .addNode("verify", (s: ExpansionStateValue, c: SearchConfig) => verify(s, depsOf(c)))
  .addNode("profile", (s: ExpansionStateValue, c: SearchConfig) => profile(s, depsOf(c)))
  .addNode("critique", (s: ExpansionStateValue, c: SearchConfig) => critique(s, depsOf(c)))
  .addNode("remember", (s: ExpansionStateValue, c: SearchConfig) => remember(s, depsOf(c)))
  .addEdge(START, "plan")
  .addConditionalEdges("plan", oneCoderPerIdea, ["code"])
  .addEdge("code", "verify")
  .addEdge("verify", "profile")
  .addEdge("profile", "critique")
  .addEdge("critique", "remember")
  .addEdge("remember", END);

/** The uncompiled search graph (graph/run.ts compiles it with the SQLite checkpointer). */
export const searchGraphBuilder = new StateGraph(SearchState, SearchContext)
  .addNode("select", (s: SearchStateValue, c: SearchConfig) => select(s, depsOf(c)))
  .addNode("collect", (s: SearchStateValue, c: SearchConfig) => collect(s, depsOf(c)))
  .addEdge(START, "select")
  .addConditionalEdges("select", collectOrEnd, ["collect", END])
  .addEdge("collect", "select");

/** The compiled graphs without a checkpointer: what langgraph.json points LangGraph's CLI and Studio at. */
export const searchGraph = searchGraphBuilder.compile();
export const expansionGraph = expansionGraphBuilder.compile();

function collectOrEnd(s: SearchStateValue): "collect" | typeof END {
  return Object.keys(s.open).length > 0 ? "collect" : END;
}

function oneCoderPerIdea(s: ExpansionStateValue): Send[] {
  return s.children.map((child) => new Send("code", { ...s, task: child }));
}
