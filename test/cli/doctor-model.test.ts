/**
 * `kforge doctor` as a real process: which provider and model a search would use (the offline policy included),
 * whether a configured endpoint answers (the scripted OpenAI-compatible server, then the same port dead), the key
 * never printed; and a Triton line that says who needs Triton. (`kforge doctor --queue` is in test/queue/doctor.test.ts.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScriptedServer, startScriptedServer } from "../../tools/scripted-server/server.ts";
import { runKforge } from "../search/cli-process.ts";
import { torchPython } from "../verifier/helpers.ts";

const KEY = "sk-doctor-test-0123456789";

interface Check {
  name: string;
  status: string;
  detail: string;
  hint?: string;
  endpoint?: { provider: string; model: string; baseUrl: string; roles: string[]; reachable: boolean; refusal?: string };
}

describe("kforge doctor: the model a search would use", () => {
  let dir: string;
  let server: ScriptedServer;
  /** A doctor whose Python cannot import Triton, whatever this host has (the probe sees PYTHONPATH). */
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: process.env["PATH"],
    HOME: dir,
    KFORGE_HOME: join(dir, "home"),
    KFORGE_PYTHON: torchPython(),
    PYTHONPATH: join(dir, "no-triton"),
    NO_COLOR: "1",
    ...extra,
  });
  const doctor = async (extra: Record<string, string>) => {
    const r = await runKforge(["doctor", "--json"], env(extra));
    const checks = JSON.parse(r.stdout) as Check[];
    return { ...r, checks, by: (name: string) => checks.find((c) => c.name === name) };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kforge-doctor-model-"));
    mkdirSync(join(dir, "no-triton", "triton"), { recursive: true });
    writeFileSync(join(dir, "no-triton", "triton", "__init__.py"), 'raise ImportError("triton is blocked by the test")\n');
    server = await startScriptedServer([], { models: ["scripted-model"] });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("with no model configured: the offline policy, and Triton is missing (the offline policy writes Triton kernels)", async () => {
    const r = await doctor({});
    expect(r.by("model"), r.stdout).toMatchObject({ status: "ok" });
    expect(r.by("model")?.detail).toMatch(
      /^none: a search would run the offline template-and-mutation policy \(provider offline, default, as neither DEEPSEEK_API_KEY nor KFORGE_BASE_URL is set\)/,
    );
    expect(r.by("triton")).toMatchObject({ status: "missing", detail: expect.stringContaining("triton is blocked by the test") });
    expect(r.by("triton")?.hint).toBe(
      "pip install triton: the offline template policy and every GPU kernel need it; on a CPU-only host only a model search of a CPU test problem works without it (and no model is configured here)",
    );
  }, 180_000);

  it("with an OpenAI-compatible endpoint: asks it, says reachable with the URL, never prints the key; dead: unreachable", async () => {
    const model = { KFORGE_PROVIDER: "openai-compatible", KFORGE_BASE_URL: server.baseUrl, KFORGE_MODEL: "scripted-model", KFORGE_API_KEY: KEY };
    const before = server.requests.length;
    const live = await doctor(model);
    expect(live.by("model"), live.stdout).toMatchObject({
      status: "ok",
      endpoint: { provider: "openai-compatible", model: "scripted-model", baseUrl: server.baseUrl, reachable: true },
    });
    expect(live.by("model")?.detail).toBe(
      `openai-compatible "scripted-model" at ${server.baseUrl}: reachable, serves the model (provider: KFORGE_PROVIDER, from the environment; model: KFORGE_MODEL, from the environment)`,
    );
    // It really asked the server (with the key), and printed the key nowhere.
    const asked = server.requests.slice(before);
    expect(asked.map((q) => `${q.method} ${q.path}`)).toEqual(["GET /v1/models"]);
    expect(asked[0]?.authorization).toBeTruthy();
    expect(live.stdout + live.stderr).not.toContain(KEY);
    // A model search of a CPU test problem works without Triton: a warning, not a missing part.
    expect(live.by("triton")).toMatchObject({ status: "warn" });
    expect(live.by("triton")?.hint).not.toContain("no model is configured");

    const text = await runKforge(["doctor"], env(model));
    expect(text.stdout).toMatch(
      new RegExp(`^ok +model +openai-compatible "scripted-model" at ${server.baseUrl.replace(/[.]/g, "\\.")}: reachable`, "m"),
    );
    expect(text.stdout + text.stderr).not.toContain(KEY);

    const url = server.baseUrl;
    await server.close();
    const dead = await doctor(model);
    expect(dead.by("model"), dead.stdout).toMatchObject({
      status: "missing",
      endpoint: { baseUrl: url, reachable: false, refusal: "unreachable" },
    });
    expect(dead.by("model")?.detail).toMatch(
      new RegExp(
        `^openai-compatible "scripted-model" at ${url.replace(/[.]/g, "\\.")}: unreachable: no answer from ${url.replace(/[.]/g, "\\.")}/models: connection refused`,
      ),
    );
    expect(dead.by("model")?.hint).toContain(`curl ${url}/models`);
    expect(dead.stdout + dead.stderr).not.toContain(KEY);
    // An unreachable model does not stop kernels from being verified here: the exit code is the machine's.
    expect(dead.code).toBe(live.code);
  }, 240_000);

  it("a selection a search would refuse, and invalid settings, are named", async () => {
    const r = await doctor({ KFORGE_BASE_URL: "http://127.0.0.1:1/v1", KFORGE_BREAKER_WAIT_S: "abc" });
    expect(r.by("settings")).toMatchObject({ status: "missing", detail: "invalid: KFORGE_BREAKER_WAIT_S" });
    expect(r.by("model")).toMatchObject({
      status: "missing",
      detail: "a search would refuse to start: provider openai-compatible needs a model name (from KFORGE_BASE_URL in the environment)",
    });
  }, 180_000);
});
