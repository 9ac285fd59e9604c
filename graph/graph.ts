/**
 * The search, on one screen: select → plan → code (one Send per idea, in parallel) → verify →
 * profile → critique → remember → select ... until the budget ends it.
 */
import { END, START, Send, StateGraph } from "@langchain/langgraph";
import type { GraphDeps } from "./deps.ts";
import { SearchState, type SearchStateValue } from "./state.ts";
import { select } from "./nodes/select.ts";
import { plan } from "./nodes/plan.ts";
import { code } from "./nodes/code.ts";
import { verify } from "./nodes/verify.ts";
import { profile } from "./nodes/profile.ts";
import { critique } from "./nodes/critique.ts";
import { remember } from "./nodes/remember.ts";

/** The uncompiled search graph with its dependencies bound. */
export function buildSearchGraph(deps: GraphDeps) {
  return new StateGraph(SearchState)
    .addNode("select", (s: SearchStateValue) => select(s, deps))
    .addNode("plan", (s: SearchStateValue) => plan(s, deps))
    .addNode("code", (s: SearchStateValue) => code(s, deps))
    .addNode("verify", (s: SearchStateValue) => verify(s, deps))
    .addNode("profile", (s: SearchStateValue) => profile(s, deps))
    .addNode("critique", (s: SearchStateValue) => critique(s, deps))
    .addNode("remember", (s: SearchStateValue) => remember(s, deps))
    .addEdge(START, "select")
    .addConditionalEdges("select", continueOrEnd, ["plan", END])
    .addConditionalEdges("plan", oneCoderPerIdea, ["code"])
    .addEdge("code", "verify")
    .addEdge("verify", "profile")
    .addEdge("profile", "critique")
    .addEdge("critique", "remember")
    .addEdge("remember", "select");
}

function continueOrEnd(s: SearchStateValue): "plan" | typeof END {
  return s.stop ? END : "plan";
}

function oneCoderPerIdea(s: SearchStateValue): Send[] {
  return s.children.map((child) => new Send("code", { ...s, task: child }));
}
