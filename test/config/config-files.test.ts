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
