/**
 * Settings files: `KFORGE_HOME/config.json` for a user, `./kforge.json` for a project. Each is a JSON
 * object of setting names (as the environment spells them) to values; the environment wins over the
 * project file, which wins over the home file. A file that is not such an object is an error naming it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { closestWord } from "./closest.ts";
import { ConfigError } from "./errors.ts";

/** Where an effective value came from. */
export type SettingSource = "env" | "project" | "home" | "default";

/** One settings file as read: its path and its values (strings, as the environment would give them). */
export interface SettingsFile {
  path: string;
  values: Record<string, string>;
}

/** The home file's name inside KFORGE_HOME. */
export const HOME_FILE = "config.json";
/** The project file's name in the current directory. */
export const PROJECT_FILE = "kforge.json";

/**
 * A settings file kforge cannot use: unreadable, not JSON, not one object, an unknown setting, one it may not hold,
 * a value of the wrong type. Every command but `kforge config` refuses to start with it; `kforge config` lists the
 * other settings and names it. `text` is the file as read (its secrets are scrubbed from output even so).
 */
export class SettingsFileError extends ConfigError {
  readonly path: string;
  readonly text: string | undefined;
  constructor(path: string, message: string, hint: string, text?: string) {
    super(message, { hint, context: { file: path } });
    this.path = path;
    this.text = text;
  }
}

/** What a settings file may give a setting beyond a string, a number or a boolean. */
export interface SettingKinds {
  /**
   * Settings whose value is JSON (KFORGE_ROLE_MODELS): a file gives it as JSON itself (an object, the natural form) or
   * as a string holding the JSON, as the environment does; either is checked by the setting's own parser, the same way.
   */
  json?: ReadonlySet<string>;
  /**
   * Settings any value turns on (NO_COLOR): a file's false leaves them unset. Every other setting's true and false are
   * 1 and 0, as a switch is written in the environment (KFORGE_QUEUE_LOCAL: false is 0, local lanes off).
   */
  presence?: ReadonlySet<string>;
}

/** The JSON type of a value, as a message names it. */
function jsonType(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
}

/**
 * Reads `path` if it exists. `known` are the setting names (a typo is an error naming the closest known one, not
 * silently ignored); `refuse` are names this file may not hold, with the reason; `kinds`, what else a value may be.
 * Throws a `SettingsFileError`.
 */
export function readSettingsFile(
  path: string,
  known: ReadonlySet<string>,
  refuse: (name: string) => string | null,
  kinds: SettingKinds = {},
): SettingsFile | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SettingsFileError(path, `settings file ${path} cannot be read: ${(err as Error).message}`, "make it a readable file, or remove it");
  }
  const fail = (message: string, hint: string): never => {
    throw new SettingsFileError(path, message, hint, text);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    fail(
      `settings file ${path} is not valid JSON${jsonErrorAt(text, message)}`,
      jsonError(text, message).trailingComma ? "delete that comma, or remove the file" : "fix it, or remove it",
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(`settings file ${path} must hold one JSON object, e.g. {"KFORGE_PYTHON": "/usr/bin/python3"}`, "fix it, or remove it");
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  // Every unknown name at once, each with the known one it is closest to (a typo's likely fix).
  const unknown = entries.map(([name]) => name).filter((name) => !known.has(name));
  if (unknown.length) {
    const named = unknown.map((name) => ({ name, near: closestSetting(name, known) }));
    const list = named.map((u) => `"${u.name}"${u.near ? ` (did you mean ${u.near}?)` : ""}`).join(", ");
    const [only] = named;
    const hint =
      named.length === 1 && only?.near
        ? `rename it to ${only.near}, or remove it; \`kforge config\` lists every setting`
        : `${named.length === 1 ? "remove it" : "rename or remove each"}; \`kforge config\` lists every setting`;
    fail(`settings file ${path}: unknown setting${named.length === 1 ? "" : "s"} ${list}`, hint);
  }
  const values: Record<string, string> = {};
  for (const [name, value] of entries) {
    const why = refuse(name);
    if (why) fail(`settings file ${path} may not hold ${name}: ${why}`, `remove ${name} from it`);
    if (typeof value === "string") values[name] = value;
    // A JSON setting's value as the environment would hold it: its JSON text, checked where the setting is used.
    else if (kinds.json?.has(name)) values[name] = JSON.stringify(value);
    else if (typeof value === "number") values[name] = String(value);
    else if (typeof value === "boolean") values[name] = value ? "1" : kinds.presence?.has(name) ? "" : "0";
    else
      fail(
        `settings file ${path}: ${name} must be a string, a number or a boolean, not ${jsonType(value)}`,
        `give it one value, as the environment would, e.g. "${name}": "VALUE"; or remove it from that file`,
      );
  }
  return { path, values };
}

/**
 * Where JSON.parse stopped, as a person finds it: " (line L, column C[of]): WHAT", `of` naming the text when it is not
 * a whole file (" of its value"). The position is JSON.parse's when its message gives one (or the input ended early),
 * else where `jsonErrorOffset` finds the first character JSON does not allow; the message's quote of the text (V8's
 * `..."text" is not valid JSON`, which may hold a key) is left out, the place says it.
 */
export function jsonErrorAt(text: string, message: string, of = ""): string {
  const e = jsonError(text, message);
  return e.line === undefined ? `: ${e.what}` : ` (line ${e.line}, column ${e.column}${of}): ${e.what}`;
}

/** What `jsonErrorAt` says of a trailing comma, placed at the comma. */
export const TRAILING_COMMA = "trailing comma: JSON allows none after the last entry";

/**
 * Where JSON.parse stopped and why (see `jsonErrorAt`). A stop at the } or ] closing an object or array right after a
 * comma is a trailing comma: placed at the comma (JSON.parse places it at the bracket, often on the next line), and
 * called one.
 */
export function jsonError(text: string, message: string): { line?: number; column?: number; what: string; trailingComma: boolean } {
  const at = /^(.*?) in JSON at position (\d+)/.exec(message);
  let pos = at ? Number(at[2]) : /^Unexpected end of JSON input/.test(message) ? text.length : jsonErrorOffset(text);
  let what = (at ? at[1]! : (/^(Unexpected token '[\s\S]*?'),[\s\S]* is not valid JSON$/.exec(message)?.[1] ?? message)).replace(/\s+/g, " ");
  if (pos === undefined) return { what, trailingComma: false };
  let trailingComma = false;
  if (text[pos] === "}" || text[pos] === "]") {
    let i = pos - 1;
    while (i >= 0 && " \t\n\r".includes(text[i]!)) i--;
    // A comma before the bracket that closes its own object or array: without it, the text gets past the bracket.
    const without = text[i] === "," ? jsonErrorOffset(`${text.slice(0, i)} ${text.slice(i + 1)}`) : pos;
    if (without === undefined || without > pos) [pos, what, trailingComma] = [i, TRAILING_COMMA, true];
  }
  const before = text.slice(0, pos).split("\n");
  return { line: before.length, column: (before.at(-1) ?? "").length + 1, what, trailingComma };
}

/** The offset of the first character of `t` that JSON (RFC 8259) does not allow there (`t.length` when it ends early); undefined for valid JSON. */
export function jsonErrorOffset(t: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new JsonStop(i);
  };
  const ws = () => {
    while (i < t.length && " \t\n\r".includes(t[i]!)) i++;
  };
  const string = () => {
    i++; // the opening quote
    while (i < t.length) {
      const c = t[i]!;
      if (c === '"') return void i++;
      if (c < " ") fail();
      if (c === "\\") {
        i++;
        if (t[i] === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(t[i + k] ?? "")) {
              i += k;
              fail();
            }
          }
          i += 5;
        } else if (t[i] !== undefined && '"\\/bfnrt'.includes(t[i]!)) i++;
        else fail();
      } else i++;
    }
    fail();
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (t[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          ws();
          if (t[i] !== '"') fail();
          string();
          ws();
          if (t[i] !== ":") fail();
          i++;
        }
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    const word = ["true", "false", "null"].find((w) => w[0] === c);
    if (word) {
      for (const ch of word) {
        if (t[i] !== ch) fail();
        i++;
      }
      return;
    }
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t.slice(i));
    if (!num) fail();
    i += num![0].length;
  };
  try {
    value();
    ws();
    return i < t.length ? i : undefined;
  } catch (err) {
    if (err instanceof JsonStop) return err.at;
    return undefined; // nested too deep to scan: no place to name
  }
}

class JsonStop {
  constructor(readonly at: number) {}
}

/**
 * The known setting `name` is most likely a typo of, if one is close: another case or at most 2 edits away; a known
 * setting with something after it (KFORGE_QUEUE_URL: KFORGE_QUEUE) or without its KFORGE_ prefix; a few more edits.
 */
export function closestSetting(name: string, known: ReadonlySet<string>): string | undefined {
  const upper = name.trim().toUpperCase();
  const extended = [...known].filter((k) => upper.startsWith(`${k}_`)).sort((a, b) => b.length - a.length)[0];
  const prefixed = known.has(`KFORGE_${upper}`) ? `KFORGE_${upper}` : undefined;
  return closestWord(name, known, 2) ?? extended ?? prefixed ?? closestWord(name, known);
}

/**
 * The project file (in `cwd`) and the home file (in the home the environment or the project file names). A file
 * kforge cannot use throws its `SettingsFileError`; with `unreadable: "collect"` (`kforge config`, which names it
 * and lists the rest) it is left out instead and returned in `unreadable`, so a project file's KFORGE_HOME is then
 * unknown and the home file is looked for where the environment or the default puts it.
 */
export function readSettingsFiles(
  env: NodeJS.ProcessEnv,
  cwd: string,
  defaultHome: string,
  settings: { known: ReadonlySet<string>; secret: (name: string) => boolean; kinds?: SettingKinds },
  opts: { unreadable?: "throw" | "collect" } = {},
): { project: SettingsFile | null; home: SettingsFile | null; unreadable: SettingsFileError[] } {
  const unreadable: SettingsFileError[] = [];
  const read = (...args: Parameters<typeof readSettingsFile>): SettingsFile | null => {
    try {
      return readSettingsFile(...args);
    } catch (err) {
      if (opts.unreadable !== "collect" || !(err instanceof SettingsFileError)) throw err;
      unreadable.push(err);
      return null;
    }
  };
  const project = read(
    join(cwd, PROJECT_FILE),
    settings.known,
    (name) =>
      // A project folder is often committed: keys belong in the environment or the user's own home file.
      settings.secret(name) ? "a project file may be committed; set it in the environment or in KFORGE_HOME/config.json" : null,
    settings.kinds,
  );
  const homeDir = nonEmpty(env["KFORGE_HOME"]) ?? nonEmpty(project?.values["KFORGE_HOME"]) ?? defaultHome;
  const home = read(
    join(homeDir, HOME_FILE),
    settings.known,
    (name) => (name === "KFORGE_HOME" ? "the home file lives in KFORGE_HOME; set it in the environment or in ./kforge.json" : null),
    settings.kinds,
  );
  return { project, home, unreadable };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s.trim();
}
