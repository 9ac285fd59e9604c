/**
 * KFORGE_ROLE_MODELS written in a settings file as the JSON object it is (the README's form), not only as a string
 * holding that JSON: a search's critic calls go to the model it names, `kforge config` lists the override, and a bad
 * object is refused with the very error the same JSON as a string gets, naming the file; an unknown role or field is
 * named with the closest known one (core/closest.ts: "critc" (did you mean critic?)). Real `node bin/kforge.js`
 * child processes: a search against a scripted model server, `kforge config`, a search that refuses before any run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kforgeEnv, runKforge } from "../search/cli-process.ts";
import { twoIdeaCpuModel } from "../search/cpu-kernels.ts";
import { CPU_TINY } from "../verifier/helpers.ts";

const KFORGE = join(repoRoot(), "bin", "kforge.js");
const OVERRIDE = { critic: { model: "critic-model" } };

describe("KFORGE_ROLE_MODELS as a JSON object in a settings file", () => {
  let server: ScriptedServer;
  let dir: string;
  let home: string;
  let project: string;
  let projectFile: string;
  beforeAll(async () => {
    server = await startScriptedServer(twoIdeaCpuModel("role models"));
    dir = mkdtempSync(join(tmpdir(), "kforge-role-object-"));
    home = join(dir, "home");
    project = join(dir, "project");
    mkdirSync(home);
    mkdirSync(project);
    projectFile = join(project, "kforge.json");
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `kforge ARGS` in the project folder, the scripted server as the model. */
  const kforge = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [KFORGE, ...args], {
      cwd: project,
      env: { ...kforgeEnv(home, server.baseUrl), HOME: dir, ...env },
      encoding: "utf8",
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("a search's critic calls go to the model the object names; the other roles keep KFORGE_MODEL", async () => {
    // A home of its own: the search leaves its database there.
    const searchHome = join(dir, "search-home");
    mkdirSync(searchHome);
    const searchFile = join(searchHome, "config.json");
    writeFileSync(searchFile, JSON.stringify({ KFORGE_ROLE_MODELS: OVERRIDE }, null, 2));
    const before = server.requests.length;
    const env = { ...kforgeEnv(searchHome, server.baseUrl), HOME: dir };
    const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "2", "--branching", "2", "--budget", "3m"], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const asked = server.requests.slice(before).filter((q) => q.role !== undefined);
    const critic = asked.filter((q) => q.role === "critic");
    expect(critic.length).toBeGreaterThanOrEqual(1);
    expect(new Set(critic.map((q) => q.model))).toEqual(new Set(["critic-model"]));
    const others = asked.filter((q) => q.role !== "critic");
    expect(others.map((q) => q.role)).toEqual(expect.arrayContaining(["planner", "coder"]));
    expect(new Set(others.map((q) => q.model))).toEqual(new Set(["scripted-model"]));

    // `kforge config` lists the override where it came from, and the role's model a search would use.
    const config = kforge(["config"], { KFORGE_HOME: searchHome });
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toMatch(
      new RegExp(
        `^KFORGE_ROLE_MODELS +\\{"critic":\\{"model":"critic-model"\\}\\} {2}\\(home file ${searchFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\)$`,
        "m",
      ),
    );
    expect(config.stdout).toContain(`  role critic: openai-compatible model "critic-model" at ${server.baseUrl} (KFORGE_ROLE_MODELS)`);
  }, 300_000);

  it("the string form still works; a bad object (an unknown role or field too, with the closest known one) gets the same error as the same JSON in a string", () => {
    // The string form, as before (and as the environment gives it).
    writeFileSync(projectFile, JSON.stringify({ KFORGE_ROLE_MODELS: JSON.stringify(OVERRIDE) }));
    const asString = kforge(["config", "--json"]);
    expect(asString.code, asString.stderr).toBe(0);
    expect(JSON.parse(asString.stdout).search.roles).toEqual([
      { role: "critic", provider: "openai-compatible", model: "critic-model", baseUrl: server.baseUrl },
    ]);

    /** What `kforge search` refuses with: exit 2, no run, no database. */
    const refusal = (value: unknown) => {
      writeFileSync(projectFile, JSON.stringify({ KFORGE_ROLE_MODELS: value }));
      const r = kforge(["search", "--problem", CPU_TINY]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout).not.toMatch(/^run /m);
      expect(existsSync(join(home, "kforge.sqlite"))).toBe(false);
      return r.stderr;
    };
    const cases: [unknown, string][] = [
      [{ critic: { model: 5 } }, `settings file ${projectFile}: KFORGE_ROLE_MODELS at critic.model: Invalid input: expected string, received number`],
      [
        { coder: { provider: "vllm" } },
        `settings file ${projectFile}: KFORGE_ROLE_MODELS at coder.provider: Invalid option: expected one of "deepseek"|"openai-compatible"|"offline"`,
      ],
      [
        [{ critic: { model: "m" } }],
        `settings file ${projectFile}: KFORGE_ROLE_MODELS must be a JSON object of roles, e.g. {"critic":{"model":"deepseek-chat"}}, not an array`,
      ],
    ];
    for (const [value, message] of cases) {
      const asObject = refusal(value);
      expect(asObject).toBe(
        `error (user): ${message}\n` +
          `  hint: roles are planner, coder, critic, profiler; each takes {provider?, model?, baseUrl?, apiKey?}; fix it in ${projectFile}, or remove it from that file\n`,
      );
      // Word for word what the same JSON written as a string gets.
      expect(refusal(JSON.stringify(value))).toBe(asObject);
    }
    // An unknown role or field: the closest known one, whichever form the value takes.
    const unknown: [unknown, string, string][] = [
      [{ critc: { model: "m" } }, 'KFORGE_ROLE_MODELS: unknown role "critc" (did you mean critic?)', 'rename "critc" to critic; '],
      [
        { Planner: { model: "m" }, codr: {}, judge: {} },
        'KFORGE_ROLE_MODELS: unknown roles "Planner" (did you mean planner?), "codr" (did you mean coder?), "judge"',
        "",
      ],
      [{ critic: { modle: "m" } }, 'KFORGE_ROLE_MODELS at critic: unknown field "modle" (did you mean model?)', 'rename "modle" to model; '],
      [
        { critic: { base_url: "http://x" } },
        'KFORGE_ROLE_MODELS at critic: unknown field "base_url" (did you mean baseUrl?)',
        'rename "base_url" to baseUrl; ',
      ],
      [
        { coder: { provider: "deepseeek" } },
        'KFORGE_ROLE_MODELS at coder.provider: Invalid option: expected one of "deepseek"|"openai-compatible"|"offline" (did you mean deepseek?)',
        "",
      ],
    ];
    for (const [value, message, rename] of unknown) {
      const asObject = refusal(value);
      expect(asObject).toBe(
        `error (user): settings file ${projectFile}: ${message}\n` +
          `  hint: ${rename}roles are planner, coder, critic, profiler; each takes {provider?, model?, baseUrl?, apiKey?}; fix it in ${projectFile}, or remove it from that file\n`,
      );
      expect(refusal(JSON.stringify(value))).toBe(asObject);
    }
    // From the environment, the same, with the environment's place to fix it.
    rmSync(projectFile);
    const fromEnv = kforge(["search", "--problem", CPU_TINY], { KFORGE_ROLE_MODELS: '{"profilr":{"model":"m"}}' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toBe(
      'error (user): environment variable KFORGE_ROLE_MODELS: unknown role "profilr" (did you mean profiler?)\n' +
        '  hint: rename "profilr" to profiler; roles are planner, coder, critic, profiler; each takes {provider?, model?, baseUrl?, apiKey?}; fix it in the environment, or unset it\n',
    );
    const config = kforge(["config"], { KFORGE_ROLE_MODELS: '{"profilr":{"model":"m"}}' });
    expect(config.code).toBe(2);
    expect(config.stdout).toContain(
      '  KFORGE_ROLE_MODELS: environment variable KFORGE_ROLE_MODELS: unknown role "profilr" (did you mean profiler?) (from the environment)\n',
    );

    // `kforge config` flags it too, with the file.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_ROLE_MODELS: { critic: { model: 5 } } }));
    const flagged = kforge(["config"]);
    expect(flagged.code).toBe(2);
    expect(flagged.stdout).toContain(`KFORGE_ROLE_MODELS at critic.model: Invalid input: expected string, received number`);

    // A string that is not JSON, in a file: the hint shows the object form first.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_ROLE_MODELS: "critic=deepseek-chat" }));
    expect(kforge(["search", "--problem", CPU_TINY]).stderr).toContain(
      `  hint: in a settings file write the object itself, e.g. "KFORGE_ROLE_MODELS": {"critic":{"model":"deepseek-chat"}} (or a string holding that JSON, inner quotes escaped); fix it in ${projectFile}, or remove it from that file\n`,
    );

    // Any other setting is one value, as the environment would give it: an object is refused, saying what it is.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_PYTHON: { path: "/usr/bin/python3" } }));
    const other = kforge(["runs"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe(
      `error (user): settings file ${projectFile}: KFORGE_PYTHON must be a string, a number or a boolean, not an object\n` +
        `  hint: give it one value, as the environment would, e.g. "KFORGE_PYTHON": "VALUE"; or remove it from that file\n`,
    );
    rmSync(projectFile);
  }, 120_000);
});
