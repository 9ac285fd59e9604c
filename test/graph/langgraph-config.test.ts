import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CompiledStateGraph } from "@langchain/langgraph";

/** langgraph.json is what LangGraph's CLI and Studio read: every graph it names must load as a compiled graph. */
describe("langgraph.json", () => {
  const config = JSON.parse(readFileSync(new URL("../../langgraph.json", import.meta.url), "utf8")) as { graphs: Record<string, string> };

  it("names module-level compiled graphs: the search (select, collect) and one expansion (plan … remember)", async () => {
    const nodesOf: Record<string, string[]> = {};
    for (const [id, ref] of Object.entries(config.graphs)) {
      const [file, name] = ref.split(":");
      const mod = (await import(new URL(`../../${file}`, import.meta.url).href)) as Record<string, unknown>;
      const graph = mod[name!];
      expect(graph).toBeInstanceOf(CompiledStateGraph);
      nodesOf[id] = Object.keys((await (graph as CompiledStateGraph<never, never>).getGraphAsync()).nodes);
    }
    expect(nodesOf["kforge_search"]).toEqual(expect.arrayContaining(["select", "collect"]));
    expect(nodesOf["kforge_expansion"]).toEqual(expect.arrayContaining(["plan", "code", "verify", "profile", "critique", "remember"]));
  });

  it("refuses a run without its context, saying what is missing", async () => {
    const { searchGraph } = await import("../../graph/graph.ts");
    // LangGraph parses the context with the graph's schema before the first node runs.
    await expect(searchGraph.invoke({ runId: "r", problem: "p" })).rejects.toThrow(/the graph context needs the trace store/);
    await expect(searchGraph.invoke({ runId: "r", problem: "p" }, { context: { runId: "r" } as never })).rejects.toThrow(/the graph context needs/);
  });
});
