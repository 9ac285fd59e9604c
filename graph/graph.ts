/**
 * The search, on one screen: select → plan → code (one Send per idea, in parallel) → verify →
 * profile → critique → remember → select ... until the budget ends it. Nodes take their live
 * dependencies from the run's context (context.ts), so the graph is built once, here.
 */
import { END, START, Send, StateGraph } from "@langchain/langgraph";
import { SearchState, type SearchStateValue } from "./state.ts";
import { SearchContext, depsOf, type SearchConfig } from "./context.ts";
import { select } from "./nodes/select.ts";
import { plan } from "./nodes/plan.ts";
import { code } from "./nodes/code.ts";
import { verify } from "./nodes/verify.ts";
import { profile } from "./nodes/profile.ts";
import { critique } from "./nodes/critique.ts";
import { remember } from "./nodes/remember.ts";

/** The uncompiled search graph (graph/run.ts compiles it with the SQLite checkpointer). */
export const searchGraphBuilder = new StateGraph(SearchState, SearchContext)
  .addNode("select", (s: SearchStateValue, c: SearchConfig) => select(s, depsOf(c)))
  .addNode("plan", (s: SearchStateValue, c: SearchConfig) => plan(s, depsOf(c)))
  .addNode("code", (s: SearchStateValue, c: SearchConfig) => code(s, depsOf(c)))
  .addNode("verify", (s: SearchStateValue, c: SearchConfig) => verify(s, depsOf(c)))
  .addNode("profile", (s: SearchStateValue, c: SearchConfig) => profile(s, depsOf(c)))
  .addNode("critique", (s: SearchStateValue, c: SearchConfig) => critique(s, depsOf(c)))
  .addNode("remember", (s: SearchStateValue, c: SearchConfig) => remember(s, depsOf(c)))
  .addEdge(START, "select")
  .addConditionalEdges("select", continueOrEnd, ["plan", END])
  .addConditionalEdges("plan", oneCoderPerIdea, ["code"])
  .addEdge("code", "verify")
  .addEdge("verify", "profile")
  .addEdge("profile", "critique")
  .addEdge("critique", "remember")
  .addEdge("remember", "select");

/** The compiled graph without a checkpointer: what langgraph.json points LangGraph's CLI and Studio at. */
export const searchGraph = searchGraphBuilder.compile();

function continueOrEnd(s: SearchStateValue): "plan" | typeof END {
  return s.stop ? END : "plan";
}

function oneCoderPerIdea(s: SearchStateValue): Send[] {
  return s.children.map((child) => new Send("code", { ...s, task: child }));
}
