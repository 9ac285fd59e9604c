/** Configuration checks of `kforge` as a real process: before any run exists, and only where a model is needed. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";

describe("kforge configuration checks", () => {
  let home: string;
  let deadUrl: string;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "kforge-cli-config-"));
    const s = await startScriptedServer();
    deadUrl = s.baseUrl;
    await s.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("a dead endpoint fails the search before a run is created, naming URL, model and answer", async () => {
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "2"], kforgeEnv(home, deadUrl));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(deadUrl);
    expect(r.stderr).toMatch(/model "scripted-model"\) cannot serve the search: no answer .*connection refused/);
    expect(r.stdout).not.toMatch(/^run /m);
    // Checked before the database is even opened: no file, so certainly no run.
    expect(existsSync(join(home, "kforge.sqlite"))).toBe(false);
  }, 60_000);

  it("a mistyped KFORGE_PROVIDER breaks only commands that need a model", async () => {
    const env = { ...kforgeEnv(home, deadUrl), KFORGE_PROVIDER: "deepseeek" };
    const runs = await runKforge(["runs"], env);
    expect(runs.code, runs.stderr).toBe(0);
    const search = await runKforge(["search", "--problem", CPU_TINY], env);
    expect(search.code).toBe(2);
    expect(search.stderr).toMatch(/KFORGE_PROVIDER "deepseeek" is not a provider[\s\S]*hint: use one of deepseek, openai-compatible, offline/);
  }, 60_000);

  it("a negative number after a flag is checked as that flag's value", async () => {
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "-3"], kforgeEnv(home, deadUrl));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-nodes -3: expected a positive integer/);
    expect(r.stderr).not.toMatch(/ambiguous/);
  }, 60_000);
});
