import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CompiledStateGraph } from "@langchain/langgraph";

/** langgraph.json is what LangGraph's CLI and Studio read: every graph it names must load as a compiled graph. */
describe("langgraph.json", () => {
  const config = JSON.parse(readFileSync(new URL("../../langgraph.json", import.meta.url), "utf8")) as { graphs: Record<string, string> };

  it("names a module-level compiled graph with the search's nodes", async () => {
    const entries = Object.entries(config.graphs);
    expect(entries.length).toBeGreaterThan(0);
    for (const [, ref] of entries) {
      const [file, name] = ref.split(":");
      const mod = (await import(new URL(`../../${file}`, import.meta.url).href)) as Record<string, unknown>;
      const graph = mod[name!];
      expect(graph).toBeInstanceOf(CompiledStateGraph);
      const nodes = Object.keys((await (graph as CompiledStateGraph<never, never>).getGraphAsync()).nodes);
      expect(nodes).toEqual(expect.arrayContaining(["select", "plan", "code", "verify", "profile", "critique", "remember"]));
    }
  });

  it("refuses a run without its context, saying what is missing", async () => {
    const { searchGraph } = await import("../../graph/graph.ts");
    // LangGraph parses the context with the graph's schema before the first node runs.
    await expect(searchGraph.invoke({ runId: "r", problem: "p" })).rejects.toThrow(/the graph context needs the trace store/);
    await expect(searchGraph.invoke({ runId: "r", problem: "p" }, { context: { runId: "r" } as never })).rejects.toThrow(/the graph context needs/);
  });
});
