import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startScriptedServer, type ScriptedServer, type ScriptedReply } from "../../tools/scripted-server/server.ts";
import { inspect } from "node:util";
import { ask, fastClient, TEST_KEY } from "./helpers.ts";

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  await server.close();
});

const forms: ScriptedReply["reasoningAs"][] = ["reasoning_content", "reasoning", "think"];

describe("reasoning capture", () => {
  for (const stream of [true, false]) {
    for (const form of forms) {
      it(`captures reasoning sent as ${form} (${stream ? "stream" : "non-stream"})`, async () => {
        server.push({ reasoning: "First, tile over KV blocks.", reasoningAs: form, content: "```python\nx = 1\n```", chunkChars: 5 });
        const deltas = { content: "", reasoning: "" };
        const { client } = fastClient(server.baseUrl, { stream });
        const res = await client.chat(
          ask("coder", {
            onDelta: (d) => {
              deltas.content += d.content ?? "";
              deltas.reasoning += d.reasoning ?? "";
            },
          }),
        );
        expect(res.reasoning).toBe("First, tile over KV blocks.");
        expect(res.content).toBe("```python\nx = 1\n```");
        expect(res.content).not.toContain("think>");
        expect(deltas.reasoning.trim()).toBe(res.reasoning);
        expect(deltas.content.trim()).toBe(res.content);
        expect(res.attempts).toBe(1);
        expect(server.requests[0]!.stream).toBe(stream);
      });
    }
  }

  it("reads a JSON body when the server ignores stream: true", async () => {
    server.push({ reasoning: "think hard", content: "answer", ignoreStream: true });
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(server.requests[0]!.stream).toBe(true);
    expect(res).toMatchObject({ content: "answer", reasoning: "think hard", finishReason: "stop" });
  });

  it("treats text before a lone </think> as reasoning (R1 template pre-fills <think>)", async () => {
    server.push({ content: "the prefilled thought</think>\n\nfinal answer", chunkChars: 3 });
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(res).toMatchObject({ content: "final answer", reasoning: "the prefilled thought" });
  });
});

describe("request", () => {
  it("sends model, messages, stream with usage, max_tokens, role header and the key", async () => {
    server.push({ content: "ok" });
    const { client } = fastClient(server.baseUrl, {}, "planner");
    await client.chat({ ...ask("planner"), maxTokens: 1234, temperature: 0.6 });
    const r = server.requests[0]!;
    expect(r).toMatchObject({
      path: "/v1/chat/completions",
      model: "scripted-model",
      stream: true,
      includeUsage: true,
      role: "planner",
      maxTokens: 1234,
    });
    expect(r.messages).toEqual(ask("planner").messages);
    expect(r.authorization).toBe(`Bearer ${TEST_KEY}`);
    expect(r.body["temperature"]).toBe(0.6);
  });

  it("keeps the key out of anything printable about the client", () => {
    const { client } = fastClient(server.baseUrl);
    expect(inspect(client, { depth: 10 })).not.toContain(TEST_KEY);
    expect(JSON.stringify({ ...client })).not.toContain(TEST_KEY);
  });
});

describe("accounting", () => {
  it("reads prompt, completion, reasoning and cached tokens from usage", async () => {
    server.push({ content: "ok", reasoning: "r", usage: { prompt_tokens: 1000, completion_tokens: 500, reasoning_tokens: 400, cached_tokens: 200 } });
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(res.usage).toEqual({ promptTokens: 1000, completionTokens: 500, reasoningTokens: 400, cachedPromptTokens: 200 });
  });

  it("estimates usage from text length and flags it when the server sends none", async () => {
    server.push({ content: "x".repeat(400), reasoning: "y".repeat(800), usage: false });
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(res.usage.estimated).toBe(true);
    expect(res.usage.reasoningTokens).toBe(200);
    expect(res.usage.completionTokens).toBe(300);
    expect(res.usage.promptTokens).toBeGreaterThan(0);
  });

  it("prices deepseek-reasoner from the table and counts unknown models as $0 with a note", async () => {
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, reasoning_tokens: 900_000, cached_tokens: 0 };
    server.push({ content: "ok", usage }, { content: "ok", usage });
    const priced = fastClient(server.baseUrl, {}, "coder", { KFORGE_MODEL: "deepseek-reasoner" }).client;
    const res = await priced.chat(ask());
    expect(res.costUsd).toBeCloseTo(0.28 + 0.42, 6);
    expect(res.costNote).toBeUndefined();
    const unknown = await fastClient(server.baseUrl).client.chat(ask());
    expect(unknown.costUsd).toBe(0);
    expect(unknown.costNote).toMatch(/no price for model "scripted-model"/);
  });

  it("measures latency including a slow server", async () => {
    server.push({ content: "slow but fine", delayMs: 150, chunkDelayMs: 20, chunkChars: 4 });
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(res.latencyMs).toBeGreaterThanOrEqual(150 + 3 * 20 - 5);
    expect(res.content).toBe("slow but fine");
  });
});
