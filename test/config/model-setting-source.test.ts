/**
 * A mistyped KFORGE_PROVIDER and a malformed KFORGE_ROLE_MODELS are reported where they were set: the environment
 * variable, or ./kforge.json or KFORGE_HOME/config.json, with a hint that fits that place (a shell example for the
 * environment; for a file, the file's own form, where KFORGE_ROLE_MODELS is the JSON object itself or a string holding it).
 * `kforge search` and `kforge config` as real child processes; search refuses before any run.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultModelSettings, roleOverrides } from "../../agents/model-settings.ts";
import { loadConfig } from "../../core/config.ts";
import { kforgeIn, newSettingsSandbox } from "./settings-sandbox.ts";

const PROVIDERS = "deepseek, openai-compatible, offline";

describe("KFORGE_PROVIDER and KFORGE_ROLE_MODELS errors name where the value came from", () => {
  let dir: string;
  let home: string;
  let project: string;
  let projectFile: string;
  let homeFile: string;
  beforeEach(() => {
    ({ dir, home, project, projectFile, homeFile } = newSettingsSandbox("kforge-model-source-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kforge = (args: string[], env: Record<string, string> = {}) => kforgeIn({ dir, home, project }, args, env);
  /** `kforge search` refused before a run: exit 2, the error and its hint, no database. */
  const refused = (env: Record<string, string> = {}) => {
    const r = kforge(["search", "--problem", "softcap"], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).not.toMatch(/^run /m);
    expect(existsSync(join(home, "kforge.sqlite"))).toBe(false);
    return r.stderr;
  };
  /** `kforge config`'s problem of the setting: the same error, flagged with the setting's source. */
  const configSays = (env: Record<string, string> = {}) => {
    const r = kforge(["config"], env);
    expect(r.code).toBe(2);
    return r.stdout;
  };

  it("KFORGE_PROVIDER from the environment: the variable, the closest provider, a shell example", () => {
    const stderr = refused({ KFORGE_PROVIDER: "deepseeek" });
    expect(stderr).toBe(
      'error (user): environment variable KFORGE_PROVIDER "deepseeek" is not a provider (did you mean deepseek?)\n' +
        `  hint: use one of ${PROVIDERS} (e.g. export KFORGE_PROVIDER=deepseek), or unset it in the environment\n`,
    );
    // Commands without a model still run.
    expect(kforge(["runs"], { KFORGE_PROVIDER: "deepseeek" }).code).toBe(0);
  }, 60_000);

  it("KFORGE_PROVIDER from ./kforge.json or KFORGE_HOME/config.json: that file, the file's form, never 'environment variable'", () => {
    writeFileSync(projectFile, JSON.stringify({ KFORGE_PROVIDER: "ofline" }));
    const fromProject = refused();
    expect(fromProject).toBe(
      `error (user): settings file ${projectFile}: KFORGE_PROVIDER "ofline" is not a provider (did you mean offline?)\n` +
        `  hint: use one of ${PROVIDERS} in ${projectFile} (e.g. "KFORGE_PROVIDER": "offline"), or remove it from that file\n`,
    );
    expect(configSays()).toContain(
      `  KFORGE_PROVIDER: settings file ${projectFile}: KFORGE_PROVIDER "ofline" is not a provider (did you mean offline?) (from project file ${projectFile})\n`,
    );
    rmSync(projectFile);

    writeFileSync(homeFile, JSON.stringify({ KFORGE_PROVIDER: "vllm" }));
    const fromHome = refused();
    expect(fromHome).toBe(
      `error (user): settings file ${homeFile}: KFORGE_PROVIDER "vllm" is not a provider\n` +
        `  hint: use one of ${PROVIDERS} in ${homeFile} (e.g. "KFORGE_PROVIDER": "deepseek"), or remove it from that file\n`,
    );
    for (const text of [fromProject, fromHome]) expect(text).not.toMatch(/environment|export /);

    // The environment wins over the file: its bad value is the environment's, and its good one hides the file's.
    expect(refused({ KFORGE_PROVIDER: "openai" })).toMatch(/^error \(user\): environment variable KFORGE_PROVIDER "openai" is not a provider\n/);
    expect(defaultModelSettings(loadConfig({ KFORGE_HOME: home, KFORGE_PROVIDER: "offline" }, project)).provider).toBe("offline");
    expect(() => defaultModelSettings(loadConfig({ KFORGE_HOME: home }, project))).toThrow(`settings file ${homeFile}: KFORGE_PROVIDER "vllm"`);
  }, 120_000);

  it("kforge config names KFORGE_PROVIDER as the invalid setting, and shows no model in effect while it is", () => {
    const env = { KFORGE_PROVIDER: "deepseeek" };
    const text = kforge(["config"], env);
    expect(text.code).toBe(2);
    expect(text.stderr).toBe("error (user): 1 invalid setting: KFORGE_PROVIDER\n");
    expect(text.stdout).toMatch(
      /^KFORGE_PROVIDER +deepseeek {2}\(environment\) {2}INVALID: environment variable KFORGE_PROVIDER "deepseeek" is not a provider/m,
    );
    // Not the default "deepseek-reasoner (DeepSeek)", as if a DeepSeek model were in effect.
    expect(text.stdout).toMatch(/^KFORGE_MODEL +none {2}\(default, no provider is in effect: KFORGE_PROVIDER is invalid\)$/m);
    expect(text.stdout).not.toContain("deepseek-reasoner");
    expect(text.stdout).toContain('a search now would refuse to start: see "KFORGE_PROVIDER" below\n');
    expect(text.stdout).toContain(
      '  KFORGE_PROVIDER: environment variable KFORGE_PROVIDER "deepseeek" is not a provider (did you mean deepseek?) (from the environment)\n' +
        `    hint: use one of ${PROVIDERS} (e.g. export KFORGE_PROVIDER=deepseek), or unset it in the environment\n`,
    );
    expect(text.stdout).not.toContain("search model");
    const json = JSON.parse(kforge(["config", "--json"], env).stdout) as {
      invalid: { name: string; from: string }[];
      settings: { name: string; value: string }[];
    };
    expect(json.invalid.map((p) => [p.name, p.from])).toEqual([["KFORGE_PROVIDER", "the environment"]]);
    expect(json.settings.find((s) => s.name === "KFORGE_MODEL")?.value).toBe("none");

    // From a file, with KFORGE_MODEL set: shown as set, and said not to be in effect.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_PROVIDER: "ofline", KFORGE_MODEL: "qwen" }));
    const file = kforge(["config"]);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe("error (user): 1 invalid setting: KFORGE_PROVIDER\n");
    expect(file.stdout).toMatch(
      new RegExp(
        `^KFORGE_MODEL +qwen {2}\\(project file ${projectFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}, not in effect while KFORGE_PROVIDER is invalid\\)$`,
        "m",
      ),
    );
    // Fixed, the model in effect is back.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_PROVIDER: "openai-compatible", KFORGE_BASE_URL: "http://127.0.0.1:9", KFORGE_MODEL: "qwen" }));
    const fixed = kforge(["config"]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/^KFORGE_MODEL +qwen {2}\(project file [^,]*\)$/m);
  }, 120_000);

  it("KFORGE_ROLE_MODELS that is not JSON: from the environment, a shell example; from a file, the object form (or the escaped string)", () => {
    const fromEnv = refused({ KFORGE_ROLE_MODELS: '{"critic": {model: "x"}}' });
    expect(fromEnv).toBe(
      "error (user): environment variable KFORGE_ROLE_MODELS is not valid JSON (line 1, column 13 of its value): Expected property name or '}'\n" +
        `  hint: example: export KFORGE_ROLE_MODELS='{"critic":{"model":"deepseek-chat"}}'; fix it in the environment, or unset it\n`,
    );

    // In a file the value may be a JSON string holding the JSON (a trailing comma in it here); the hint shows the object form.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_ROLE_MODELS: '{"critic": {"model": "x"},}' }));
    const fromProject = refused();
    expect(fromProject).toBe(
      `error (user): settings file ${projectFile}: KFORGE_ROLE_MODELS is not valid JSON (line 1, column 26 of its value): trailing comma: JSON allows none after the last entry\n` +
        `  hint: in a settings file write the object itself, e.g. "KFORGE_ROLE_MODELS": {"critic":{"model":"deepseek-chat"}} (or a string holding that JSON, inner quotes escaped); fix it in ${projectFile}, or remove it from that file\n`,
    );
    expect(fromProject).not.toMatch(/environment|export |KFORGE_ROLE_MODELS='/);
    expect(configSays()).toContain(
      `  KFORGE_ROLE_MODELS: settings file ${projectFile}: KFORGE_ROLE_MODELS is not valid JSON (line 1, column 26 of its value): trailing comma`,
    );
    rmSync(projectFile);

    writeFileSync(homeFile, JSON.stringify({ KFORGE_ROLE_MODELS: "critic=deepseek-chat" }));
    const fromHome = refused();
    expect(fromHome).toMatch(
      new RegExp(
        `^error \\(user\\): settings file ${homeFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: KFORGE_ROLE_MODELS is not valid JSON \\(line 1, column 1 of its value\\)`,
      ),
    );
    expect(fromHome).toContain(`; fix it in ${homeFile}, or remove it from that file\n`);
    expect(fromHome).not.toMatch(/environment|export /);
  }, 120_000);

  it("KFORGE_ROLE_MODELS that is JSON but not role overrides: the bad part, and where to fix it", () => {
    const fromEnv = refused({ KFORGE_ROLE_MODELS: '{"coder":{"provider":"vllm"}}' });
    expect(fromEnv).toMatch(/^error \(user\): environment variable KFORGE_ROLE_MODELS at coder\.provider: Invalid option: /);
    expect(fromEnv).toContain(
      "  hint: roles are planner, coder, critic, profiler; each takes {provider?, model?, baseUrl?, apiKey?}; fix it in the environment, or unset it\n",
    );

    writeFileSync(homeFile, JSON.stringify({ KFORGE_ROLE_MODELS: JSON.stringify({ critc: { model: "deepseek-chat" } }) }));
    const fromHome = refused();
    expect(fromHome).toBe(
      `error (user): settings file ${homeFile}: KFORGE_ROLE_MODELS: unknown role "critc" (did you mean critic?)\n` +
        `  hint: rename "critc" to critic; roles are planner, coder, critic, profiler; each takes {provider?, model?, baseUrl?, apiKey?}; fix it in ${homeFile}, or remove it from that file\n`,
    );
    // A good value in the environment hides the file's.
    const fine = loadConfig({ KFORGE_HOME: home, KFORGE_ROLE_MODELS: '{"critic":{"model":"m"}}' }, project);
    expect(fine.modelEnv.files).toEqual({});
    expect(roleOverrides(fine)).toEqual({ critic: { model: "m" } });
    expect(loadConfig({ KFORGE_HOME: home }, project).modelEnv.files).toEqual({ KFORGE_ROLE_MODELS: homeFile });
  }, 120_000);
});
