/**
 * Settings files: `KFORGE_HOME/config.json` for a user, `./kforge.json` for a project. Each is a JSON
 * object of setting names (as the environment spells them) to values; the environment wins over the
 * project file, which wins over the home file. A file that is not such an object is an error naming it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
 * Reads `path` if it exists. `known` are the setting names (a typo is an error, not silently ignored);
 * `refuse` are names this file may not hold, with the reason.
 */
export function readSettingsFile(path: string, known: ReadonlySet<string>, refuse: (name: string) => string | null): SettingsFile | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`settings file ${path} is not valid JSON: ${(err as Error).message}`, { hint: `fix it, or remove it` });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`settings file ${path} must hold one JSON object, e.g. {"KFORGE_PYTHON": "/usr/bin/python3"}`, {
      hint: "fix it, or remove it",
    });
  }
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!known.has(name)) throw new ConfigError(`settings file ${path}: unknown setting "${name}"`, { hint: "`kforge config` lists every setting" });
    const why = refuse(name);
    if (why) throw new ConfigError(`settings file ${path} may not hold ${name}: ${why}`, { hint: `remove ${name} from it` });
    if (typeof value === "string") values[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") values[name] = String(value === true ? 1 : value === false ? "" : value);
    else throw new ConfigError(`settings file ${path}: ${name} must be a string, a number or a boolean`, { hint: `e.g. "${name}": "..."` });
  }
  return { path, values };
}

/** The project file (in `cwd`) and the home file (in the home the environment or the project file names). */
export function readSettingsFiles(
  env: NodeJS.ProcessEnv,
  cwd: string,
  defaultHome: string,
  settings: { known: ReadonlySet<string>; secret: (name: string) => boolean },
): { project: SettingsFile | null; home: SettingsFile | null } {
  const project = readSettingsFile(join(cwd, PROJECT_FILE), settings.known, (name) =>
    // A project folder is often committed: keys belong in the environment or the user's own home file.
    settings.secret(name) ? "a project file may be committed; set it in the environment or in KFORGE_HOME/config.json" : null,
  );
  const homeDir = nonEmpty(env["KFORGE_HOME"]) ?? nonEmpty(project?.values["KFORGE_HOME"]) ?? defaultHome;
  const home = readSettingsFile(join(homeDir, HOME_FILE), settings.known, (name) =>
    name === "KFORGE_HOME" ? "the home file lives in KFORGE_HOME; set it in the environment or in ./kforge.json" : null,
  );
  return { project, home };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s.trim();
}
