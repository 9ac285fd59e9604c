/** Model output bounded and inert at the client: the reply-size cap (streamed and JSON), prompts scrubbed of secrets, retry reasons kept. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { ModelError } from "../../core/errors.ts";
import { ask, fastClient, TEST_KEY } from "./helpers.ts";

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  await server.close();
});

async function failure(p: Promise<unknown>): Promise<ModelError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  return err as ModelError;
}

describe("reply size cap", () => {
  it("cuts a streamed reply as soon as it passes the cap: reply_too_large, one attempt, nothing past the cap forwarded", async () => {
    server.push({ reasoning: "r".repeat(600), content: "x".repeat(200_000), chunkChars: 100 });
    const { client, delays } = fastClient(server.baseUrl, {}, "coder", { KFORGE_MAX_REPLY_CHARS: "1000" });
    let seen = 0;
    const err = await failure(client.chat(ask("coder", { onDelta: (d) => (seen += (d.content ?? "").length + (d.reasoning ?? "").length) })));
    expect(err.code).toBe("reply_too_large");
    expect(err.message).toMatch(/passed 1000 characters \(KFORGE_MAX_REPLY_CHARS\)/);
    expect(err.hint).toMatch(/KFORGE_MAX_REPLY_CHARS/);
    expect(server.requests).toHaveLength(1); // not retried
    expect(delays).toEqual([]);
    expect(seen).toBeLessThanOrEqual(1000 + 100);
    expect(err.context?.retries).toEqual([expect.objectContaining({ attempt: 1, errorClass: "too-large" })]);
  });

  it("refuses a JSON reply past the cap, whether asked for or sent instead of a stream", async () => {
    for (const reply of [
      { stream: false, ignoreStream: false },
      { stream: true, ignoreStream: true },
    ]) {
      server.push({ content: "y".repeat(50_000), ignoreStream: reply.ignoreStream });
      const { client } = fastClient(server.baseUrl, { stream: reply.stream }, "coder", { KFORGE_MAX_REPLY_CHARS: "2000" });
      expect((await failure(client.chat(ask()))).code).toBe("reply_too_large");
    }
    // Under the cap, both paths answer normally.
    server.push({ content: "small" }, { content: "small", ignoreStream: true });
    for (const stream of [false, true]) {
      const { client } = fastClient(server.baseUrl, { stream }, "coder", { KFORGE_MAX_REPLY_CHARS: "2000" });
      expect((await client.chat(ask())).content).toBe("small");
    }
  });
});

describe("reply size cap in bytes", () => {
  it("one endless SSE line is cut by size, not held in memory until a timeout", async () => {
    // A hostile server: an event-stream whose first data line never ends (64 KiB every 5 ms).
    const hostile = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"index":0,"delta":{"content":"');
      const timer = setInterval(() => res.write("x".repeat(64 * 1024)), 5);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((ok) => hostile.listen(0, "127.0.0.1", () => ok()));
    try {
      const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/v1`;
      const { client } = fastClient(url, { idleTimeoutMs: 20_000, timeoutMs: 30_000 }, "coder", { KFORGE_MAX_REPLY_CHARS: "1000" });
      const began = Date.now();
      const err = await failure(client.chat(ask()));
      expect(err.code).toBe("reply_too_large");
      // Cut at the byte cap (100 bytes a character + 1 MiB: about 1.1 MB, some 20 writes), long before any timeout.
      expect(Date.now() - began).toBeLessThan(5_000);
    } finally {
      hostile.closeAllConnections();
      await new Promise<void>((ok) => hostile.close(() => ok()));
    }
  });
});

describe("what leaves for the provider", () => {
  it("scrubs configured secrets from every message before it is sent", async () => {
    server.push({ content: "fine" });
    const other = "ghp_0123456789abcdefghij";
    const { client } = fastClient(server.baseUrl, {}, "coder", { GITHUB_TOKEN: other });
    const leaked = `the verifier log said KFORGE_API_KEY=${TEST_KEY} and ${Buffer.from(other).toString("base64")}`;
    await client.chat(
      ask("coder", {
        messages: [
          { role: "system", content: `sys ${other}` },
          { role: "user", content: leaked },
        ],
      }),
    );
    const sent = JSON.stringify(server.requests[0]!.messages);
    expect(sent).not.toContain(TEST_KEY);
    expect(sent).not.toContain(other);
    expect(sent).not.toContain(Buffer.from(other).toString("base64").slice(0, 20));
    expect(sent).toContain("[redacted:KFORGE_API_KEY]");
    expect(sent).toContain("[redacted:GITHUB_TOKEN]");
    // The key still authenticates the request: only the text is scrubbed.
    expect(server.requests[0]!.authorization).toBe(`Bearer ${TEST_KEY}`);
  });

  it("keeps the reason of every failed attempt: status, error class, message and the wait that followed", async () => {
    server.push({ status: 429, errorMessage: "slow down", retryAfter: 0 }, { dropConnection: true }, { content: "at last" });
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(res.content).toBe("at last");
    expect(res.retries).toHaveLength(2);
    expect(res.retries[0]).toMatchObject({ attempt: 1, status: 429, errorClass: "HTTP 429", delayMs: 0 });
    expect(res.retries[0]!.message).toMatch(/slow down/);
    expect(res.retries[1]).toMatchObject({ attempt: 2 });
    expect(res.retries[1]!.errorClass).toMatch(/APIConnectionError|TypeError|Error/);
    expect(res.retries[1]!.message).toMatch(/connection/);
  });
});
