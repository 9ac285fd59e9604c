/** Shared setup of the model tests: a client pointed at a scripted server, with tiny backoff. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../core/config.ts";
import { createModelClient } from "../../agents/model.ts";
import type { ChatClientOptions } from "../../agents/chat-client.ts";
import type { AgentRole, ChatRequest, ModelClient } from "../../agents/model-types.ts";

export const TEST_KEY = "sk-test-0123456789abcdef";

/** A Config for an openai-compatible endpoint at baseUrl (no real environment read). */
export function testConfig(baseUrl: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-model-")),
    KFORGE_PROVIDER: "openai-compatible",
    KFORGE_BASE_URL: baseUrl,
    KFORGE_MODEL: "scripted-model",
    KFORGE_API_KEY: TEST_KEY,
    ...extra,
  });
}

/** Backoff delays recorded instead of slept, so retry tests run in milliseconds. */
export function fastClient(baseUrl: string, opts: ChatClientOptions = {}, role: AgentRole = "coder", extra: Record<string, string> = {}) {
  const delays: number[] = [];
  const client: ModelClient = createModelClient(testConfig(baseUrl, extra), role, {
    ...opts,
    retry: { baseDelayMs: 10, maxDelayMs: 1000, random: () => 0.5, sleep: async (ms) => void delays.push(ms), ...opts.retry },
  });
  return { client, delays };
}

/** A minimal request. */
export function ask(role: AgentRole = "coder", extra: Partial<ChatRequest> = {}): ChatRequest {
  return {
    role,
    messages: [
      { role: "system", content: `You are the ${role}.` },
      { role: "user", content: "Write the kernel." },
    ],
    ...extra,
  };
}
