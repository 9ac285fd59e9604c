/** Settings files and `kforge config` as a real child process: precedence env > ./kforge.json > KFORGE_HOME/config.json > default. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig, repoRoot, SETTINGS } from "../../core/config.ts";
import { withSettingsTable } from "../../core/settings-table.ts";

const KFORGE = join(repoRoot(), "bin", "kforge.js");
const KEY = "sk-test-0123456789abcdef";

describe("settings files and kforge config", () => {
  let dir: string;
  let home: string;
  let project: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kforge-config-"));
    home = join(dir, "home");
    project = join(dir, "project");
    mkdirSync(home);
    mkdirSync(project);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kforge = (args: string[], env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [KFORGE, ...args], {
      cwd: project,
      env: { PATH: process.env["PATH"], HOME: dir, ...env },
      encoding: "utf8",
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("shows each effective value and its source, env over project over home over default, secrets as [set]", () => {
    writeFileSync(
      join(home, "config.json"),
      JSON.stringify({
        KFORGE_PYTHON: "/from/home",
        KFORGE_LOG: "debug",
        KFORGE_NCU: "/home/ncu",
        KFORGE_MODEL_TIMEOUT_S: 60,
        DEEPSEEK_API_KEY: KEY,
      }),
    );
    writeFileSync(join(project, "kforge.json"), JSON.stringify({ KFORGE_PYTHON: "/from/project", KFORGE_LOG: "warn" }));
    const env = { KFORGE_HOME: home, KFORGE_LOG: "error" };
    const r = kforge(["config", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      files: { project: string; home: string };
      settings: { name: string; value: string; source: string; file?: string }[];
    };
    const by = (name: string) => out.settings.find((s) => s.name === name);
    expect(out.settings.map((s) => s.name)).toEqual(SETTINGS.map((s) => s.name));
    expect(by("KFORGE_LOG")).toMatchObject({ value: "error", source: "env" });
    expect(by("KFORGE_PYTHON")).toMatchObject({ value: "/from/project", source: "project", file: join(project, "kforge.json") });
    expect(by("KFORGE_NCU")).toMatchObject({ value: "/home/ncu", source: "home", file: join(home, "config.json") });
    expect(by("KFORGE_MODEL_TIMEOUT_S")).toMatchObject({ value: "60", source: "home" });
    expect(by("DEEPSEEK_API_KEY")).toMatchObject({ value: "[set]", source: "home" });
    expect(by("KFORGE_DB")).toMatchObject({ value: join(home, "kforge.sqlite"), source: "default" });
    expect(r.stdout + r.stderr).not.toContain(KEY);

    const text = kforge(["config"], { ...env, KFORGE_API_KEY: KEY });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^KFORGE_PYTHON +\/from\/project {2}\(project file .*kforge\.json\)$/m);
    expect(text.stdout).toMatch(/^KFORGE_API_KEY +\[set\] {2}\(environment\)$/m);
    expect(text.stdout).toMatch(/^KFORGE_GPUS +all visible {2}\(default\)$/m);
    expect(text.stdout + text.stderr).not.toContain(KEY);

    // The same precedence is what the rest of kforge runs with.
    const config = loadConfig({ KFORGE_HOME: home, KFORGE_LOG: "error" }, project);
    expect(config).toMatchObject({ python: "/from/project", logLevel: "error", ncu: "/home/ncu" });
    expect(config.modelLimits.timeoutMs).toBe(60_000);
    expect(config.secrets.map((s) => s.value)).toContain(KEY); // a key from a file is scrubbed like one from the environment
  });

  it("bad files are errors naming the file and what to fix", () => {
    const env = { KFORGE_HOME: home };
    writeFileSync(join(project, "kforge.json"), JSON.stringify({ DEEPSEEK_API_KEY: KEY }));
    const secret = kforge(["config"], env);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/kforge\.json may not hold DEEPSEEK_API_KEY: a project file may be committed/);
    expect(secret.stderr).not.toContain(KEY);
    writeFileSync(join(project, "kforge.json"), JSON.stringify({ KFORGE_LOGG: "debug" }));
    expect(kforge(["config"], env).stderr).toMatch(/kforge\.json: unknown setting "KFORGE_LOGG"/);
    writeFileSync(join(project, "kforge.json"), "{ not json");
    expect(kforge(["runs"], env).stderr).toMatch(/kforge\.json is not valid JSON/);
    rmSync(join(project, "kforge.json"));
    writeFileSync(join(home, "config.json"), JSON.stringify({ KFORGE_LOG: "loud" }));
    const invalid = kforge(["runs"], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(`setting KFORGE_LOG (from ${join(home, "config.json")}) is invalid`);
  });

  it("flags every invalid value with its source and what is wrong, as the commands that use it do, and exits 2", () => {
    writeFileSync(join(home, "config.json"), JSON.stringify({ KFORGE_MODEL_TIMEOUT_S: -5 }));
    const env = { KFORGE_HOME: home, KFORGE_MAX_REPLY_TOKENS: "0", KFORGE_BREAKER_WAIT_S: "abc" };
    const r = kforge(["config", "--json"], env);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as {
      invalid: { name: string; message: string; from: string }[];
      settings: { name: string; invalid?: string }[];
    };
    expect(out.invalid.map((p) => [p.name, p.from])).toEqual([
      ["KFORGE_MODEL_TIMEOUT_S", `home file ${join(home, "config.json")}`],
      ["KFORGE_MAX_REPLY_TOKENS", "the environment"],
      ["KFORGE_BREAKER_WAIT_S", "the environment"],
    ]);
    expect(out.settings.filter((s) => s.invalid).map((s) => s.name)).toEqual([
      "KFORGE_MODEL_TIMEOUT_S",
      "KFORGE_MAX_REPLY_TOKENS",
      "KFORGE_BREAKER_WAIT_S",
    ]);
    expect(r.stderr).toContain("error (user): 3 invalid settings: KFORGE_MODEL_TIMEOUT_S, KFORGE_MAX_REPLY_TOKENS, KFORGE_BREAKER_WAIT_S");
    const text = kforge(["config"], env);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^KFORGE_MAX_REPLY_TOKENS +0 {2}\(environment\) {2}INVALID: "0" is not a whole number of tokens above 0$/m);
    expect(text.stdout).toMatch(/^KFORGE_BREAKER_WAIT_S +abc {2}\(environment\) {2}INVALID: "abc" is not a number of seconds$/m);
    expect(text.stdout).toMatch(/^ {2}KFORGE_MODEL_TIMEOUT_S: "-5" is not a number of seconds above 0 \(from home file .*config\.json\)$/m);

    // What config flags is what a search refuses (it reports the first), word for word.
    const search = kforge(["search", "--problem", "softcap"], env);
    expect(search.code).toBe(2);
    const refused = /KFORGE_MODEL_TIMEOUT_S is invalid: (.*)$/m.exec(search.stderr)?.[1];
    expect(refused).toBeTruthy();
    expect(out.invalid[0]!.message).toBe(refused);

    // A setting loadConfig itself refuses stops every other command: then all are named at once.
    const log = kforge(["runs"], { ...env, KFORGE_LOG: "loud" });
    expect(log.code).toBe(2);
    expect(log.stderr).toMatch(/settings are invalid:\n {2}KFORGE_LOG \(from the environment\): Invalid option: .*"debug"/);
    for (const name of ["KFORGE_MODEL_TIMEOUT_S", "KFORGE_MAX_REPLY_TOKENS", "KFORGE_BREAKER_WAIT_S"])
      expect(log.stderr).toContain(`  ${name} (from `);
    // `kforge config` still lists them all, KFORGE_LOG with the rest.
    const listed = kforge(["config", "--json"], { ...env, KFORGE_LOG: "loud" });
    expect(listed.code).toBe(2);
    expect((JSON.parse(listed.stdout) as { invalid: { name: string }[] }).invalid.map((p) => p.name)).toEqual([
      "KFORGE_LOG",
      "KFORGE_MODEL_TIMEOUT_S",
      "KFORGE_MAX_REPLY_TOKENS",
      "KFORGE_BREAKER_WAIT_S",
    ]);
  }, 180_000);

  it("kforge config still lists every setting when one the others refuse to start with is invalid, and says how to fix it", () => {
    const env = { KFORGE_HOME: home, KFORGE_LOG: "verbose", KFORGE_PYTHON: "/opt/py/bin/python3" };
    // Every other command refuses to start, as before, naming the variable and what to fix.
    const runs = kforge(["runs"], env);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toContain(
      'error (user): setting KFORGE_LOG (from the environment) is invalid: Invalid option: expected one of "debug"|"info"|"warn"|"error"',
    );
    expect(runs.stderr).toContain("hint: fix or unset KFORGE_LOG in the environment");
    expect(runs.stdout).toBe("");

    const text = kforge(["config"], env);
    expect(text.code).toBe(2);
    // The whole listing, the valid settings with their values and sources...
    for (const { name } of SETTINGS) expect(text.stdout).toMatch(new RegExp(`^${name} `, "m"));
    expect(text.stdout).toMatch(/^KFORGE_PYTHON +\/opt\/py\/bin\/python3 {2}\(environment\)$/m);
    expect(text.stdout).toMatch(new RegExp(`^KFORGE_DB +${join(home, "kforge.sqlite")} {2}\\(default\\)$`, "m"));
    // ...the invalid one flagged on its line with its value, and listed with its source, the allowed values and the fix.
    expect(text.stdout).toMatch(
      /^KFORGE_LOG +verbose {2}\(environment\) {2}INVALID: Invalid option: expected one of "debug"\|"info"\|"warn"\|"error"$/m,
    );
    expect(text.stdout).toMatch(
      /^ {2}KFORGE_LOG: Invalid option: .* \(from the environment\)\n {4}hint: KFORGE_LOG is "verbose": set it to one of debug, info, warn, error, or unset it in the environment$/m,
    );
    expect(text.stderr).toBe("error (user): 1 invalid setting: KFORGE_LOG\n");

    const json = kforge(["config", "--json"], env);
    expect(json.code).toBe(2);
    const out = JSON.parse(json.stdout) as {
      settings: { name: string; value: string; source: string; invalid?: string; allowed?: string[] }[];
      invalid: { name: string; message: string; hint?: string; from: string }[];
    };
    expect(out.settings.find((s) => s.name === "KFORGE_LOG")).toMatchObject({
      value: "verbose",
      source: "env",
      allowed: ["debug", "info", "warn", "error"],
    });
    expect(out.invalid).toEqual([
      {
        name: "KFORGE_LOG",
        message: 'Invalid option: expected one of "debug"|"info"|"warn"|"error"',
        hint: 'KFORGE_LOG is "verbose": set it to one of debug, info, warn, error, or unset it in the environment',
        from: "the environment",
      },
    ]);

    // From a settings file, the hint names the file.
    writeFileSync(join(project, "kforge.json"), JSON.stringify({ KFORGE_LOG: "loud" }));
    const file = kforge(["config"], { KFORGE_HOME: home });
    expect(file.code).toBe(2);
    expect(file.stdout).toContain(
      `hint: KFORGE_LOG is "loud": set it to one of debug, info, warn, error in ${join(project, "kforge.json")}, or remove it from that file`,
    );
    expect(kforge(["runs"], { KFORGE_HOME: home }).stderr).toContain(`setting KFORGE_LOG (from ${join(project, "kforge.json")}) is invalid`);
  }, 120_000);

  it("shows the provider and model a search would use now, and where that came from; never a key", () => {
    const offline = kforge(["config", "--json"], { KFORGE_HOME: home });
    expect(offline.code, offline.stderr).toBe(0);
    const o = JSON.parse(offline.stdout);
    expect(o.search).toMatchObject({ policy: "offline", provider: "offline", model: null });
    expect(o.settings.find((s: { name: string }) => s.name === "KFORGE_PROVIDER")).toMatchObject({ value: "offline", source: "default" });
    const text = kforge(["config"], { KFORGE_HOME: home });
    expect(text.stdout).toMatch(
      /^KFORGE_PROVIDER +offline {2}\(default, as neither DEEPSEEK_API_KEY nor KFORGE_BASE_URL is set; the rule: deepseek with DEEPSEEK_API_KEY, openai-compatible with KFORGE_BASE_URL, else offline\)$/m,
    );
    expect(text.stdout).toMatch(/^KFORGE_MODEL +none {2}\(default, the offline policy calls no model\)$/m);
    expect(text.stdout).toContain("a search now would use the offline template-and-mutation policy, no model");

    writeFileSync(join(home, "config.json"), JSON.stringify({ DEEPSEEK_API_KEY: KEY }));
    const deepseek = kforge(["config"], { KFORGE_HOME: home, KFORGE_ROLE_MODELS: '{"critic":{"model":"deepseek-chat"}}' });
    expect(deepseek.code, deepseek.stderr).toBe(0);
    expect(deepseek.stdout).toMatch(/^KFORGE_PROVIDER +deepseek {2}\(default, as DEEPSEEK_API_KEY is set \(home file .*config\.json\); the rule/m);
    expect(deepseek.stdout).toMatch(/^KFORGE_MODEL +deepseek-reasoner {2}\(default, deepseek's\)$/m);
    expect(deepseek.stdout).toContain('a search now would use deepseek model "deepseek-reasoner" at https://api.deepseek.com');
    expect(deepseek.stdout).toContain('  role critic: deepseek model "deepseek-chat" at https://api.deepseek.com (KFORGE_ROLE_MODELS)');
    expect(deepseek.stdout + deepseek.stderr).not.toContain(KEY);

    const served = { KFORGE_HOME: home, KFORGE_PROVIDER: "openai-compatible", KFORGE_BASE_URL: "http://127.0.0.1:8000", KFORGE_MODEL: "qwen" };
    const s = JSON.parse(kforge(["config", "--json"], served).stdout);
    expect(s.search).toMatchObject({
      policy: "model",
      provider: "openai-compatible",
      model: "qwen",
      baseUrl: "http://127.0.0.1:8000/v1",
      providerFrom: "KFORGE_PROVIDER, from the environment",
      modelFrom: "KFORGE_MODEL, from the environment",
    });

    // A selection a search would refuse is flagged on the line of the setting it names.
    const noModel = kforge(["config"], { KFORGE_HOME: home, KFORGE_BASE_URL: "http://127.0.0.1:8000/v1" });
    expect(noModel.code).toBe(2);
    expect(noModel.stdout).toMatch(/^KFORGE_PROVIDER +openai-compatible {2}\(default, as KFORGE_BASE_URL is set \(the environment\)/m);
    expect(noModel.stdout).toMatch(
      /^KFORGE_MODEL +none {2}\(default, openai-compatible has no default model\) {2}INVALID: provider openai-compatible needs a model name$/m,
    );
    expect(noModel.stdout).toMatch(/^ {2}search model: provider openai-compatible needs a model name \(from KFORGE_BASE_URL in the environment\)$/m);
  }, 180_000);

  it("the settings files line marks which files exist, or says none do and where they would be read from", () => {
    const projectFile = join(project, "kforge.json");
    const homeFile = join(home, "config.json");
    const env = { KFORGE_HOME: home };
    const first = (r: { stdout: string }) => r.stdout.split("\n")[0];
    const none = kforge(["config"], env);
    expect(none.code, none.stderr).toBe(0);
    expect(first(none)).toBe(`settings files: none (kforge reads ${projectFile} (project) and ${homeFile} (home) when they exist)`);
    const json = JSON.parse(kforge(["config", "--json"], env).stdout) as { files: unknown; filesExist: unknown };
    expect(json).toMatchObject({ files: { project: projectFile, home: homeFile }, filesExist: { project: false, home: false } });

    writeFileSync(homeFile, JSON.stringify({ KFORGE_PYTHON: "/from/home" }));
    expect(first(kforge(["config"], env))).toBe(`settings files: ${projectFile} (project, not found), ${homeFile} (home, found)`);
    writeFileSync(projectFile, "{}");
    expect(first(kforge(["config"], env))).toBe(`settings files: ${projectFile} (project, found), ${homeFile} (home, found)`);
    expect(JSON.parse(kforge(["config", "--json"], env).stdout).filesExist).toEqual({ project: true, home: true });
    // A file that is there but cannot be used says so (its error is listed below the line).
    writeFileSync(projectFile, "{");
    const broken = kforge(["config"], env);
    expect(broken.code).toBe(2);
    expect(first(broken)).toBe(`settings files: ${projectFile} (project, found, cannot be used: see below), ${homeFile} (home, found)`);
  }, 120_000);

  it("--db's help says the default the commands use: KFORGE_DB, else $KFORGE_HOME/kforge.sqlite, KFORGE_HOME ~/.kforge unless set", () => {
    for (const cmd of ["runs", "export"]) {
      const help = kforge([cmd, "--help"], {});
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(
        /--db PATH +the kforge database \(default: the KFORGE_DB setting, else \$KFORGE_HOME\/kforge\.sqlite, KFORGE_HOME being ~\/\.kforge unless set/,
      );
    }
    // What the help says, the commands do: HOME is `dir` here, so ~/.kforge is dir/.kforge.
    const where = (env: Record<string, string>) => /no database at (\S+)\)/.exec(kforge(["runs"], env).stdout)?.[1];
    expect(where({})).toBe(join(dir, ".kforge", "kforge.sqlite"));
    expect(where({ KFORGE_HOME: home })).toBe(join(home, "kforge.sqlite"));
    expect(where({ KFORGE_HOME: home, KFORGE_DB: join(dir, "other.sqlite") })).toBe(join(dir, "other.sqlite"));
    writeFileSync(join(project, "kforge.json"), JSON.stringify({ KFORGE_HOME: "from-project" }));
    expect(where({})).toBe(join(project, "from-project", "kforge.sqlite"));
  }, 180_000);

  it("README.md's settings table is the one generated from the schema, and names every setting", () => {
    const readme = readFileSync(join(repoRoot(), "README.md"), "utf8");
    expect(withSettingsTable(readme), "README.md is out of date: run `npx tsx scripts/settings-table.ts`").toBe(readme);
    for (const name of [
      "KFORGE_GPUS",
      "KFORGE_NCU",
      "DEEPSEEK_BASE_URL",
      "NO_COLOR",
      "KFORGE_UNSAFE_NO_SANDBOX",
      "KFORGE_LOG",
      ...SETTINGS.map((s) => s.name),
    ]) {
      expect(readme).toMatch(new RegExp(`^\\| \`${name}\``, "m"));
    }
  });
});
