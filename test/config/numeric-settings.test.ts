/**
 * Every numeric setting says what is wrong in its own unit ('"abc" is not a number of seconds', '"1.5" is not a whole
 * number of tokens', '"-5" is not a number of seconds above 0'), never zod's 'expected number, received NaN', and its
 * hint says what it takes with an example: in `kforge config` (text and --json), and in the refusal of the command
 * that uses it (`kforge runs` for the queue's lease, `kforge search` for a model limit). Real `node bin/kforge.js`
 * child processes; settings from the environment and from a settings file.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectedValue, loadConfig, SETTINGS } from "../../core/config.ts";
import { kforgeIn, newSettingsSandbox } from "./settings-sandbox.ts";

/** Each numeric setting: its unit as messages say it, whether it takes whole numbers only, the example a hint shows. */
const NUMERIC: Record<string, { unit: string; whole: boolean; example: string }> = {
  KFORGE_QUEUE_LEASE_S: { unit: "seconds", whole: false, example: "60" },
  KFORGE_MODEL_TIMEOUT_S: { unit: "seconds", whole: false, example: "1800" },
  KFORGE_MODEL_IDLE_TIMEOUT_S: { unit: "seconds", whole: false, example: "290" },
  KFORGE_MAX_REPLY_CHARS: { unit: "characters", whole: true, example: "200000" },
  KFORGE_MAX_REPLY_TOKENS: { unit: "tokens", whole: true, example: "32768" },
  KFORGE_BREAKER_FAILURES: { unit: "failed calls", whole: true, example: "5" },
  KFORGE_BREAKER_PAUSE_S: { unit: "seconds", whole: false, example: "15" },
  KFORGE_BREAKER_WAIT_S: { unit: "seconds", whole: false, example: "900" },
  KFORGE_PREFLIGHT_TIMEOUT_S: { unit: "seconds", whole: false, example: "30" },
};
const NAMES = Object.keys(NUMERIC);
const takes = (name: string) => {
  const n = NUMERIC[name]!;
  return `a ${n.whole ? "whole " : ""}number of ${n.unit} above 0 (e.g. ${n.example})`;
};

interface ConfigJson {
  settings: { name: string; invalid?: string; expected?: string }[];
  invalid: { name: string; message: string; hint?: string; from: string }[];
}

describe("numeric settings say what is wrong in their unit", () => {
  let dir: string;
  let home: string;
  let project: string;
  beforeEach(() => {
    ({ dir, home, project } = newSettingsSandbox("kforge-numeric-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kforge = (args: string[], env: Record<string, string> = {}) => kforgeIn({ dir, home, project }, args, env);
  const config = (env: Record<string, string> = {}) => {
    const r = kforge(["config", "--json"], env);
    expect(r.code, r.stderr).toBe(2);
    return JSON.parse(r.stdout) as ConfigJson;
  };

  it("every numeric setting of the schema is one of these, each with its unit", () => {
    expect(SETTINGS.filter((s) => expectedValue(s.name) !== undefined).map((s) => s.name)).toEqual(NAMES);
    for (const name of NAMES) expect(expectedValue(name)).toBe(takes(name));
  });

  it("not a number, from the environment: kforge config names the unit and what to set, for every numeric setting", () => {
    const env = Object.fromEntries(NAMES.map((n) => [n, "abc"]));
    const out = config(env);
    expect(out.invalid).toEqual(
      NAMES.map((name) => ({
        name,
        message: `"abc" is not a number of ${NUMERIC[name]!.unit}`,
        hint: `${name} is "abc": set it to ${takes(name)}, or unset it in the environment`,
        from: "the environment",
      })),
    );
    for (const name of NAMES) expect(out.settings.find((s) => s.name === name)).toMatchObject({ expected: takes(name) });
    const text = kforge(["config"], env);
    expect(text.stdout).not.toMatch(/NaN|expected number|a valid value/);
    expect(text.stdout).toMatch(/^KFORGE_QUEUE_LEASE_S +abc {2}\(environment\) {2}INVALID: "abc" is not a number of seconds$/m);
    expect(text.stdout).toContain(
      '    hint: KFORGE_QUEUE_LEASE_S is "abc": set it to a number of seconds above 0 (e.g. 60), or unset it in the environment\n',
    );
  }, 60_000);

  it("zero, negative, or a fraction where a whole number is needed, from a settings file: the file in the hint", () => {
    const file = join(home, "config.json");
    writeFileSync(file, JSON.stringify(Object.fromEntries(NAMES.map((n) => [n, -5]))));
    expect(config().invalid).toEqual(
      NAMES.map((name) => ({
        name,
        message: `"-5" is not a ${NUMERIC[name]!.whole ? "whole " : ""}number of ${NUMERIC[name]!.unit} above 0`,
        hint: `${name} is "-5": set it to ${takes(name)} in ${file}, or remove it from that file`,
        from: `home file ${file}`,
      })),
    );
    writeFileSync(file, JSON.stringify(Object.fromEntries(NAMES.map((n) => [n, "1.5"]))));
    const fractions = config().invalid;
    expect(fractions.map((p) => p.name)).toEqual(NAMES.filter((n) => NUMERIC[n]!.whole));
    expect(fractions.map((p) => p.message)).toEqual([
      '"1.5" is not a whole number of characters',
      '"1.5" is not a whole number of tokens',
      '"1.5" is not a whole number of failed calls',
    ]);
    // A well-formed value is taken as the number it says (a fraction of seconds too; blanks are unset).
    writeFileSync(file, JSON.stringify({ KFORGE_QUEUE_LEASE_S: "2.5", KFORGE_MAX_REPLY_TOKENS: 4096, KFORGE_BREAKER_WAIT_S: " " }));
    expect(kforge(["config"]).code).toBe(0);
    const c = loadConfig({ KFORGE_HOME: home }, project);
    expect([c.queue.leaseMs, c.modelLimits.maxReplyTokens, c.modelLimits.breakerMaxWaitMs]).toEqual([2500, 4096, 900_000]);
  }, 60_000);

  it("the command that uses it refuses with the same message and a hint that says what it takes", () => {
    // The queue's lease: every command but kforge config refuses to start.
    const runs = kforge(["runs"], { KFORGE_QUEUE_LEASE_S: "abc" });
    expect(runs.code).toBe(2);
    expect(runs.stderr).toBe(
      'error (user): setting KFORGE_QUEUE_LEASE_S (from the environment) is invalid: "abc" is not a number of seconds\n' +
        "  hint: set KFORGE_QUEUE_LEASE_S to a number of seconds above 0 (e.g. 60) in the environment, or unset it\n",
    );
    // A model limit: a search refuses before any run.
    const search = kforge(["search", "--problem", "softcap"], { KFORGE_BREAKER_FAILURES: "five" });
    expect(search.code).toBe(2);
    expect(search.stderr).toBe(
      'error (user): environment variable KFORGE_BREAKER_FAILURES is invalid: "five" is not a number of failed calls\n' +
        "  hint: set KFORGE_BREAKER_FAILURES to a whole number of failed calls above 0 (e.g. 5), or unset it in the environment\n",
    );
    expect(existsSync(join(home, "kforge.sqlite"))).toBe(false);
    const projectFile = join(project, "kforge.json");
    writeFileSync(projectFile, JSON.stringify({ KFORGE_MAX_REPLY_CHARS: 0 }));
    const fromFile = kforge(["search", "--problem", "softcap"]);
    expect(fromFile.stderr).toBe(
      `error (user): settings file ${projectFile}: KFORGE_MAX_REPLY_CHARS is invalid: "0" is not a whole number of characters above 0\n` +
        `  hint: set KFORGE_MAX_REPLY_CHARS to a whole number of characters above 0 (e.g. 200000) in ${projectFile}, or remove it from that file\n`,
    );
  }, 60_000);
});
