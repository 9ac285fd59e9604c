import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { createModelClient, defaultModelSettings, normalizeBaseUrl, resolveModelSettings, usesOfflinePolicy } from "../../agents/model.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { ask, testConfig } from "./helpers.ts";

const home = { KFORGE_HOME: "/tmp/kforge-model-selection" };
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("createModelClient", () => {
  it("refuses offline with a message on how to configure a provider", () => {
    const config = loadConfig({ ...home });
    expect(defaultModelSettings(config).provider).toBe("offline");
    expect(usesOfflinePolicy(config)).toBe(true);
    const err = (() => {
      try {
        createModelClient(config, "coder");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).hint).toMatch(/DEEPSEEK_API_KEY/);
    expect((err as ConfigError).hint).toMatch(/KFORGE_BASE_URL/);
  });

  it("picks deepseek-reasoner at api.deepseek.com from DEEPSEEK_API_KEY", () => {
    const config = loadConfig({ ...home, DEEPSEEK_API_KEY: "sk-x" });
    const client = createModelClient(config, "coder");
    expect(client).toMatchObject({ provider: "deepseek", model: "deepseek-reasoner" });
    expect(resolveModelSettings(config, "coder").baseUrl).toBe("https://api.deepseek.com");
  });

  it("applies per-role overrides from KFORGE_ROLE_MODELS", () => {
    const config = loadConfig({ ...home, DEEPSEEK_API_KEY: "sk-x", KFORGE_ROLE_MODELS: '{"critic":{"model":"deepseek-chat"}}' });
    expect(createModelClient(config, "critic").model).toBe("deepseek-chat");
    expect(createModelClient(config, "coder").model).toBe("deepseek-reasoner");
  });

  it("lets one role use a local server while the others use DeepSeek", async () => {
    server = await startScriptedServer([{ content: "from the local server" }]);
    const roles = JSON.stringify({ profiler: { provider: "openai-compatible", baseUrl: server.baseUrl, model: "local-r1" } });
    const config = loadConfig({ ...home, DEEPSEEK_API_KEY: "sk-deepseek", KFORGE_ROLE_MODELS: roles });
    const profiler = createModelClient(config, "profiler");
    expect(profiler).toMatchObject({ provider: "openai-compatible", model: "local-r1" });
    const res = await profiler.chat(ask("profiler"));
    expect(res.content).toBe("from the local server");
    // The DeepSeek key must not leak to another provider's server.
    expect(server.requests[0]!.authorization).not.toContain("sk-deepseek");
    expect(createModelClient(config, "coder").provider).toBe("deepseek");
  });

  it("a role switching to deepseek uses DEEPSEEK_API_KEY, not the local server's key", () => {
    const roles = JSON.stringify({ coder: { provider: "deepseek" } });
    const config = loadConfig({
      ...home,
      KFORGE_BASE_URL: "http://127.0.0.1:9/v1",
      KFORGE_MODEL: "m",
      KFORGE_API_KEY: "local",
      DEEPSEEK_API_KEY: "sk-ds",
      KFORGE_ROLE_MODELS: roles,
    });
    expect(resolveModelSettings(config, "coder")).toEqual({
      provider: "deepseek",
      model: "deepseek-reasoner",
      baseUrl: "https://api.deepseek.com",
      apiKey: "sk-ds",
    });
    expect(resolveModelSettings(config, "planner").apiKey).toBe("local");
  });

  it("names the missing variable for incomplete openai-compatible settings", () => {
    expect(() => createModelClient(loadConfig({ ...home, KFORGE_BASE_URL: "http://h:8000/v1" }), "coder")).toThrow(/needs a model name/);
    expect(() => createModelClient(loadConfig({ ...home, KFORGE_PROVIDER: "openai-compatible", KFORGE_MODEL: "m" }), "coder")).toThrow(
      /needs a base URL/,
    );
    expect(() => createModelClient(loadConfig({ ...home, KFORGE_PROVIDER: "deepseek" }), "coder")).toThrow(/needs an API key/);
    expect(() => createModelClient(testConfig("not a url"), "coder")).toThrow(ConfigError);
  });

  it("adds /v1 to a bare host for openai-compatible servers", () => {
    expect(normalizeBaseUrl("http://gpu-box:8000", "openai-compatible")).toBe("http://gpu-box:8000/v1");
    expect(normalizeBaseUrl("http://gpu-box:8000/v1/", "openai-compatible")).toBe("http://gpu-box:8000/v1");
    expect(normalizeBaseUrl("https://api.deepseek.com", "deepseek")).toBe("https://api.deepseek.com");
  });

  it("reads model timeouts from the environment", () => {
    const config = loadConfig({ ...home, KFORGE_MODEL_TIMEOUT_S: "600", KFORGE_MODEL_IDLE_TIMEOUT_S: "90" });
    expect(config.modelLimits.timeoutMs).toBe(600_000);
    expect(config.modelLimits.idleTimeoutMs).toBe(90_000);
    expect(loadConfig({ ...home }).modelLimits).toMatchObject({
      timeoutMs: 1_800_000,
      idleTimeoutMs: 290_000,
      maxReplyChars: 200_000,
      breakerFailures: 5,
    });
    // Longer replies allowed by max_tokens raise the default cap with them; an explicit cap wins.
    expect(loadConfig({ ...home, KFORGE_MAX_REPLY_TOKENS: "65536" }).modelLimits.maxReplyChars).toBe(65536 * 6);
    expect(loadConfig({ ...home, KFORGE_MAX_REPLY_TOKENS: "65536", KFORGE_MAX_REPLY_CHARS: "1000" }).modelLimits.maxReplyChars).toBe(1000);
    expect(loadConfig({ ...home, KFORGE_MODEL_TIMEOUT_S: "" }).modelLimits.timeoutMs).toBe(1_800_000);
    // A bad model-call limit fails where a model is needed, not in commands without one.
    const soon = loadConfig({ ...home, KFORGE_MODEL_TIMEOUT_S: "soon" });
    expect(soon.modelLimits.timeoutMs).toBe(1_800_000);
    expect(() => defaultModelSettings(soon)).toThrow(/KFORGE_MODEL_TIMEOUT_S is invalid/);
  });

  it("a mistyped KFORGE_PROVIDER fails only where a model is needed, naming the variable", () => {
    const config = loadConfig({ ...home, KFORGE_PROVIDER: "deepseeek" });
    expect(config.dbPath).toMatch(/kforge\.sqlite$/);
    expect(() => resolveModelSettings(config, "coder")).toThrow(/KFORGE_PROVIDER "deepseeek" is not a provider/);
    expect(() => usesOfflinePolicy(config)).toThrow(ConfigError);
  });

  it("names the bad part of KFORGE_ROLE_MODELS: an unknown role, a bad provider, broken JSON", () => {
    const bad = (json: string) => () => resolveModelSettings(loadConfig({ ...home, DEEPSEEK_API_KEY: "sk-x", KFORGE_ROLE_MODELS: json }), "coder");
    expect(bad('{"coders":{"model":"m"}}')).toThrow('KFORGE_ROLE_MODELS: unknown role "coders" (did you mean coder?)');
    expect(bad('{"coder":{"provider":"vllm"}}')).toThrow(/KFORGE_ROLE_MODELS at coder\.provider/);
    expect(bad("{coder:")).toThrow(/not valid JSON/);
  });
});
