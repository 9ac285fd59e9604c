import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, InfraError, ModelError } from "../../core/errors.ts";
import { MAX_ATTEMPTS } from "../../agents/retry.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { ask, fastClient, TEST_KEY } from "./helpers.ts";

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  await server.close();
});

const ok = { content: "fine", reasoning: "thought" };

describe("retries", () => {
  it("honours Retry-After on 429, then succeeds", async () => {
    server.push({ status: 429, retryAfter: 0.2 }, ok);
    const { client, delays } = fastClient(server.baseUrl);
    const res = await client.chat(ask());
    expect(res.attempts).toBe(2);
    expect(delays).toEqual([200]);
    expect(server.requests).toHaveLength(2);
  });

  it("retries 500, 502, 503 with growing backoff and counts attempts", async () => {
    server.push({ status: 500 }, { status: 502 }, { status: 503 }, ok);
    const retries: string[] = [];
    const { client, delays } = fastClient(server.baseUrl);
    const res = await client.chat(ask("coder", { onRetry: (r) => retries.push(r.reason) }));
    expect(res.attempts).toBe(4);
    expect(res.content).toBe("fine");
    expect(delays).toEqual([8, 15, 30]); // base 10 ms doubling, jitter fixed at 0.5: ceiling*(0.5+0.25)
    expect(retries.map((r) => r.slice(0, 8))).toEqual(["HTTP 500", "HTTP 502", "HTTP 503"]);
  });

  it("retries a stream dropped mid-reply, then succeeds", async () => {
    server.push({ ...ok, truncateAfterChunks: 2, chunkChars: 2 }, ok);
    const reasons: string[] = [];
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask("coder", { onRetry: (r) => reasons.push(r.reason) }));
    expect(res.attempts).toBe(2);
    expect(reasons[0]).toMatch(/connection dropped|truncated/);
  });

  it("retries a stream that ends without finish_reason", async () => {
    server.push({ ...ok, finishReason: null }, ok);
    const reasons: string[] = [];
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask("coder", { onRetry: (r) => reasons.push(r.reason) }));
    expect(res.attempts).toBe(2);
    expect(reasons[0]).toMatch(/without a finish_reason/);
  });

  it("retries a malformed chunk and an error sent mid-stream", async () => {
    server.push({ ...ok, malformedAfterChunks: 1 }, { ...ok, errorAfterChunks: 1 }, ok);
    const reasons: string[] = [];
    const { client } = fastClient(server.baseUrl);
    const res = await client.chat(ask("coder", { onRetry: (r) => reasons.push(r.reason) }));
    expect(res.attempts).toBe(3);
    expect(reasons[0]).toMatch(/malformed chunk/);
    expect(reasons[1]).toMatch(/mid-stream/);
  });

  it("retries a reply that keeps trickling past the per-attempt timeout", async () => {
    server.push({ ...ok, content: "x".repeat(40), chunkChars: 1, chunkDelayMs: 15 }, ok);
    const reasons: string[] = [];
    const { client } = fastClient(server.baseUrl, { timeoutMs: 300, idleTimeoutMs: 2000 });
    const res = await client.chat(ask("coder", { onRetry: (r) => reasons.push(r.reason) }));
    expect(res.attempts).toBe(2);
    expect(reasons[0]).toMatch(/no complete reply within 300 ms/);
  });

  it("retries a request that exceeds the idle timeout", async () => {
    server.push({ ...ok, chunkDelayMs: 400 }, ok);
    const { client } = fastClient(server.baseUrl, { idleTimeoutMs: 100 });
    const res = await client.chat(ask());
    expect(res.attempts).toBe(2);
  });
});

describe("giving up", () => {
  it("throws InfraError quickly on a dead port, naming the URL", async () => {
    const baseUrl = server.baseUrl;
    await server.close();
    const { client, delays } = fastClient(baseUrl);
    const started = Date.now();
    const err = await client.chat(ask()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as InfraError).message).toContain(baseUrl);
    expect((err as InfraError).message).toMatch(/ECONNREFUSED/);
    expect((err as InfraError).hint).toContain(`curl ${baseUrl}/models`);
    expect((err as InfraError).context?.call?.attempts).toBe(MAX_ATTEMPTS);
    expect(delays).toHaveLength(MAX_ATTEMPTS - 1);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("throws InfraError after 5xx on every attempt", async () => {
    server.setScript({ routes: [{ match: {}, replies: [{ status: 503 }], repeat: "last" }] });
    const { client } = fastClient(server.baseUrl);
    await expect(client.chat(ask())).rejects.toBeInstanceOf(InfraError);
    expect(server.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it("throws ModelError for empty replies after retries", async () => {
    server.setScript({ routes: [{ match: {}, replies: [{ content: "" }], repeat: "last" }] });
    const { client } = fastClient(server.baseUrl);
    const err = await client.chat(ask()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/empty reply/);
    expect(server.requests).toHaveLength(MAX_ATTEMPTS);
  });

  it("throws ModelError at once when max tokens ran out during reasoning", async () => {
    server.push({ reasoning: "long thought", content: "", finishReason: "length" });
    const { client } = fastClient(server.baseUrl);
    await expect(client.chat(ask())).rejects.toThrow(/raise maxTokens/);
    expect(server.requests).toHaveLength(1);
  });

  for (const status of [401, 403, 404]) {
    it(`throws ConfigError on ${status} without retrying`, async () => {
      server.push({ status, errorMessage: `bad key ${TEST_KEY}` }, ok);
      const { client, delays } = fastClient(server.baseUrl);
      const err = await client.chat(ask()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(server.requests).toHaveLength(1);
      expect(delays).toEqual([]);
      expect((err as ConfigError).hint).toMatch(status === 404 ? /KFORGE_MODEL/ : /KFORGE_API_KEY/);
      expect((err as Error).message).not.toContain(TEST_KEY); // keys never echo back
    });
  }

  it("throws ModelError without retrying on a 400 (e.g. context too long)", async () => {
    server.push({ status: 400, errorMessage: "maximum context length exceeded" }, ok);
    const { client } = fastClient(server.baseUrl);
    await expect(client.chat(ask())).rejects.toThrow(/context length/);
    expect(server.requests).toHaveLength(1);
  });

  it("stops at once when the caller aborts, without retrying", async () => {
    server.push({ ...ok, delayMs: 2000 }, ok);
    const { client } = fastClient(server.baseUrl);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user pressed Ctrl-C")), 50);
    const started = Date.now();
    await expect(client.chat(ask("coder", { signal: controller.signal }))).rejects.toThrow(/Ctrl-C/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.requests).toHaveLength(1);
  });
});
