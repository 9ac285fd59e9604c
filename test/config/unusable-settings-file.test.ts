/**
 * A settings file kforge cannot use at all (not JSON, an unknown setting): `kforge config`, which users run to find what
 * is wrong, still lists what it can (the environment, the defaults, the other file when that one is fine), names the
 * file with the parse error's line and column or the unknown setting (with the closest known one), and exits 2; every
 * other command refuses to start with that same error. Real `node bin/kforge.js` child processes.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SETTINGS } from "../../core/config.ts";
import { kforgeIn, newSettingsSandbox } from "./settings-sandbox.ts";

const KEY = "sk-unusable-0123456789abcdef";

interface ConfigJson {
  unreadable: { file: string; message: string; hint?: string }[];
  settings: { name: string; value: string; source: string; file?: string }[];
  invalid: { name: string }[];
}

describe("kforge config with a settings file it cannot use", () => {
  let dir: string;
  let home: string;
  let project: string;
  let projectFile: string;
  let homeFile: string;
  beforeEach(() => {
    ({ dir, home, project, projectFile, homeFile } = newSettingsSandbox("kforge-unusable-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kforge = (args: string[], env: Record<string, string> = {}) => kforgeIn({ dir, home, project }, args, env);
  const line = (name: string, value: string, source: string) =>
    new RegExp(`^${name} +${value.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} {2}\\(${source.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\)$`, "m");

  it("./kforge.json that is not JSON: named with the line and column, the environment and the home file still listed", () => {
    // A trailing comma at the end of line 3 (JSON.parse stops at the closing brace, line 4, column 1): named at the comma.
    writeFileSync(projectFile, '{\n  "KFORGE_PYTHON": "/from/project",\n  "KFORGE_NCU": "/project/ncu",\n}\n');
    writeFileSync(homeFile, JSON.stringify({ KFORGE_NCU: "/home/ncu", KFORGE_BREAKER_WAIT_S: 120 }));
    const env = { KFORGE_GPUS: "0,1" };
    const why = `settings file ${projectFile} is not valid JSON (line 3, column 31): trailing comma: JSON allows none after the last entry`;
    const hint = "delete that comma, or remove the file";

    // Every other command refuses to start, as before, with that error and what to do.
    const runs = kforge(["runs"], env);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toBe(`error (user): ${why}\n  hint: ${hint}\n`);
    expect(runs.stdout).toBe("");
    expect(existsSync(join(home, "kforge.sqlite"))).toBe(false);

    const text = kforge(["config"], env);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(
      `unusable settings file (every other command refuses to start until it is fixed; the settings listed below leave it out):\n  ${why}\n    hint: ${hint}\n`,
    );
    for (const { name } of SETTINGS) expect(text.stdout).toMatch(new RegExp(`^${name} `, "m"));
    expect(text.stdout).toMatch(line("KFORGE_GPUS", "0,1", "environment"));
    expect(text.stdout).toMatch(line("KFORGE_NCU", "/home/ncu", `home file ${homeFile}`));
    expect(text.stdout).toMatch(line("KFORGE_BREAKER_WAIT_S", "120", `home file ${homeFile}`));
    expect(text.stdout).toMatch(line("KFORGE_PYTHON", "python3", "default"));
    expect(text.stdout).not.toContain("/from/project");
    expect(text.stdout).toMatch(
      /^a search now would refuse to start: a settings file cannot be used \(above\); without it, it would use the offline/m,
    );
    expect(text.stderr).toBe(`error (user): ${why}\n`);

    const json = kforge(["config", "--json"], env);
    expect(json.code).toBe(2);
    const out = JSON.parse(json.stdout) as ConfigJson;
    expect(out.unreadable).toEqual([{ file: projectFile, message: why, hint }]);
    expect(out.settings.map((s) => s.name)).toEqual(SETTINGS.map((s) => s.name));
    expect(out.settings.find((s) => s.name === "KFORGE_NCU")).toMatchObject({ value: "/home/ncu", source: "home", file: homeFile });
    expect(out.settings.filter((s) => s.source === "project")).toEqual([]);
    expect(out.invalid).toEqual([]);

    // Fixed, both commands run again and the project file's values are back.
    writeFileSync(projectFile, JSON.stringify({ KFORGE_PYTHON: "/from/project" }));
    expect(kforge(["runs"], env).code).toBe(0);
    const fixed = kforge(["config"], env);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(line("KFORGE_PYTHON", "/from/project", `project file ${projectFile}`));
    expect(fixed.stdout).not.toContain("unusable settings file");
  }, 120_000);

  it("a trailing comma is named at the comma wherever it is; a comma before the wrong bracket is no trailing comma", () => {
    const cases: [string, string, string][] = [
      // An array's trailing comma (V8 gives no position for it).
      [
        '{"KFORGE_GPUS": "0",\n "KFORGE_LOG": "info"\n, "x": [1, 2,\n]}',
        "line 3, column 13",
        "trailing comma: JSON allows none after the last entry",
      ],
      // Spaces and blank lines between the comma and the brace.
      ['{"KFORGE_GPUS": "0",   \n\n\t}', "line 1, column 20", "trailing comma: JSON allows none after the last entry"],
      // An object closed by ]: the bracket is what is wrong.
      ['{"KFORGE_GPUS": "0",\n ]', "line 2, column 2", "Expected double-quoted property name"],
    ];
    for (const [text, at, what] of cases) {
      writeFileSync(projectFile, text);
      const r = kforge(["runs"]);
      expect(r.code).toBe(2);
      const hint = what.startsWith("trailing comma") ? "delete that comma, or remove the file" : "fix it, or remove it";
      expect(r.stderr).toBe(`error (user): settings file ${projectFile} is not valid JSON (${at}): ${what}\n  hint: ${hint}\n`);
    }
  }, 60_000);

  it("a parse error JSON.parse gives no position for is placed too, and a key in the broken file is never shown", () => {
    // An unquoted value: V8 says only "Unexpected token 'd', ...quoting the file... is not valid JSON".
    writeFileSync(homeFile, `{\n  "DEEPSEEK_API_KEY": "${KEY}",\n  "KFORGE_LOG": debug\n}\n`);
    const why = `settings file ${homeFile} is not valid JSON (line 3, column 17): Unexpected token 'd'`;
    const runs = kforge(["runs"]);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toBe(`error (user): ${why}\n  hint: fix it, or remove it\n`);
    const text = kforge(["config"]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`  ${why}\n`);
    expect(text.stdout).toMatch(line("DEEPSEEK_API_KEY", "none", "default"));
    expect(text.stdout).toMatch(line("KFORGE_LOG", "info", "default"));
    for (const r of [runs, text, kforge(["config", "--json"])]) expect(r.stdout + r.stderr).not.toContain(KEY);
  }, 120_000);

  it("an unknown setting: named with the closest known one; the other file, fine, still listed", () => {
    writeFileSync(homeFile, JSON.stringify({ KFORGE_LOGG: "debug" }));
    writeFileSync(projectFile, JSON.stringify({ KFORGE_PYTHON: "/from/project" }));
    const why = `settings file ${homeFile}: unknown setting "KFORGE_LOGG" (did you mean KFORGE_LOG?)`;
    const hint = "rename it to KFORGE_LOG, or remove it; `kforge config` lists every setting";

    const runs = kforge(["runs"]);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toBe(`error (user): ${why}\n  hint: ${hint}\n`);
    const search = kforge(["search", "--problem", "softcap"]);
    expect(search.code).toBe(2);
    expect(search.stderr).toBe(`error (user): ${why}\n  hint: ${hint}\n`);

    const text = kforge(["config"]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`  ${why}\n    hint: ${hint}\n`);
    expect(text.stdout).toMatch(line("KFORGE_PYTHON", "/from/project", `project file ${projectFile}`));
    expect(text.stdout).toMatch(line("KFORGE_LOG", "info", "default"));
    expect(text.stderr).toBe(`error (user): ${why}\n`);

    // Several unknown names at once, each with its suggestion when one is close (another case, a missing prefix, a
    // swapped pair), none when nothing is.
    writeFileSync(homeFile, JSON.stringify({ kforge_python: "/p", GPUS: "0", KFORGE_NUC: "/n", SOMETHING_ELSE: 1 }));
    const many = kforge(["config", "--json"]);
    expect(many.code).toBe(2);
    expect((JSON.parse(many.stdout) as ConfigJson).unreadable).toEqual([
      {
        file: homeFile,
        message: `settings file ${homeFile}: unknown settings "kforge_python" (did you mean KFORGE_PYTHON?), "GPUS" (did you mean KFORGE_GPUS?), "KFORGE_NUC" (did you mean KFORGE_NCU?), "SOMETHING_ELSE"`,
        hint: "rename or remove each; `kforge config` lists every setting",
      },
    ]);
    writeFileSync(homeFile, JSON.stringify({ SOMETHING_ELSE: 1 }));
    expect(kforge(["runs"]).stderr).toBe(
      `error (user): settings file ${homeFile}: unknown setting "SOMETHING_ELSE"\n  hint: remove it; \`kforge config\` lists every setting\n`,
    );
  }, 120_000);

  it("both files unusable: each named, the environment and the defaults listed, with an invalid setting flagged as well", () => {
    writeFileSync(projectFile, "");
    writeFileSync(homeFile, JSON.stringify({ KFORGE_PYTON: "/x" }));
    const env = { KFORGE_LOG: "loud", KFORGE_NCU: "/env/ncu" };
    const text = kforge(["config"], env);
    expect(text.code).toBe(2);
    const empty = `settings file ${projectFile} is not valid JSON (line 1, column 1): Unexpected end of JSON input`;
    const typo = `settings file ${homeFile}: unknown setting "KFORGE_PYTON" (did you mean KFORGE_PYTHON?)`;
    expect(text.stdout).toContain(
      `unusable settings files (every other command refuses to start until each is fixed; the settings listed below leave them out):\n  ${empty}\n`,
    );
    expect(text.stdout).toContain(`  ${typo}\n`);
    expect(text.stdout).toMatch(line("KFORGE_NCU", "/env/ncu", "environment"));
    expect(text.stdout).toMatch(/^KFORGE_LOG +loud {2}\(environment\) {2}INVALID: /m);
    expect(text.stderr).toBe(`error (user): ${empty}\nerror (user): ${typo}\nerror (user): 1 invalid setting: KFORGE_LOG\n`);
    // The other commands stop at the first file, as before.
    expect(kforge(["runs"], env).stderr).toContain(`error (user): ${empty}\n`);
  }, 120_000);
});
