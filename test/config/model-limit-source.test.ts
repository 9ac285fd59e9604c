/**
 * An invalid model-call limit is reported where it was set: the environment variable, or the settings file and its key
 * (./kforge.json or KFORGE_HOME/config.json). `kforge search` as a real child process, which refuses before any run.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultModelSettings } from "../../agents/model-settings.ts";
import { loadConfig, repoRoot } from "../../core/config.ts";

const KFORGE = join(repoRoot(), "bin", "kforge.js");

describe("an invalid model-call limit names its source", () => {
  let dir: string;
  let home: string;
  let project: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "kforge-limit-source-"));
    home = join(dir, "home");
    project = join(dir, "project");
    mkdirSync(home);
    mkdirSync(project);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const search = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [KFORGE, "search", "--problem", "softcap"], {
      cwd: project,
      env: { PATH: process.env["PATH"], HOME: dir, KFORGE_HOME: home, ...env },
      encoding: "utf8",
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("from the environment: the environment variable", () => {
    const r = search({ KFORGE_MODEL_TIMEOUT_S: "soon" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error (user): environment variable KFORGE_MODEL_TIMEOUT_S is invalid: "soon" is not a number of seconds\n');
    expect(r.stderr).toContain("hint: set KFORGE_MODEL_TIMEOUT_S to a number of seconds above 0 (e.g. 1800), or unset it in the environment");
    expect(r.stderr).not.toContain("settings file");
    expect(loadConfig({ KFORGE_HOME: home, KFORGE_MODEL_TIMEOUT_S: "soon" }, project).modelEnv.invalid).toMatchObject({
      variable: "KFORGE_MODEL_TIMEOUT_S",
      file: undefined,
    });
  }, 60_000);

  it("from ./kforge.json or KFORGE_HOME/config.json: that file and the key, never 'environment variable'", () => {
    const projectFile = join(project, "kforge.json");
    writeFileSync(projectFile, JSON.stringify({ KFORGE_BREAKER_WAIT_S: -5 }));
    const fromProject = search({});
    expect(fromProject.code).toBe(2);
    expect(fromProject.stderr).toContain(
      `error (user): settings file ${projectFile}: KFORGE_BREAKER_WAIT_S is invalid: "-5" is not a number of seconds above 0\n`,
    );
    expect(fromProject.stderr).toContain(
      `hint: set KFORGE_BREAKER_WAIT_S to a number of seconds above 0 (e.g. 900) in ${projectFile}, or remove it from that file`,
    );
    expect(fromProject.stderr).not.toContain("environment variable");
    rmSync(projectFile);

    const homeFile = join(home, "config.json");
    writeFileSync(homeFile, JSON.stringify({ KFORGE_MAX_REPLY_TOKENS: "many" }));
    const fromHome = search({});
    expect(fromHome.code).toBe(2);
    expect(fromHome.stderr).toContain(
      `error (user): settings file ${homeFile}: KFORGE_MAX_REPLY_TOKENS is invalid: "many" is not a number of tokens\n`,
    );
    expect(fromHome.stderr).not.toContain("environment variable");

    // The environment wins over the file: a bad value there is the environment's, and a good one hides the file's.
    const fromEnv = search({ KFORGE_MAX_REPLY_TOKENS: "0" });
    expect(fromEnv.stderr).toContain(
      'error (user): environment variable KFORGE_MAX_REPLY_TOKENS is invalid: "0" is not a whole number of tokens above 0\n',
    );
    const hidden = loadConfig({ KFORGE_HOME: home, KFORGE_MAX_REPLY_TOKENS: "4096" }, project);
    expect(hidden.modelEnv.invalid).toBeUndefined();
    expect(hidden.modelLimits.maxReplyTokens).toBe(4096);
    expect(() => defaultModelSettings(loadConfig({ KFORGE_HOME: home }, project))).toThrow(
      `settings file ${homeFile}: KFORGE_MAX_REPLY_TOKENS is invalid`,
    );
  }, 60_000);
});
