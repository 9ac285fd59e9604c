/**
 * `kforge config`: every setting's effective value and where it came from (environment, project file, home
 * file, default), each checked as the commands that use it check it, and the provider and model a search
 * would use now. A settings file kforge cannot use (not JSON, an unknown setting, ...) is named with what is
 * wrong, and the rest is listed without it: every other command refuses to start until it is fixed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { effectiveSettings, type EffectiveSetting, unreadableSettingsFiles } from "../../core/config.ts";
import { HOME_FILE, PROJECT_FILE } from "../../core/config-files.ts";
import { inertText } from "../../core/inert-text.ts";
import { emit, type Command } from "../command.ts";
import { PROVIDER_RULE, searchModel, type SearchModel, type SettingProblem, usageProblems, whereFrom } from "./config-model.ts";

/** A row of the listing: the setting, and a note when its value is derived (the provider and model in effect). */
type Row = EffectiveSetting & { note?: string };

/** The `config` subcommand. */
export const configCommand: Command = {
  name: "config",
  summary: "show each setting's effective value and where it came from, flag invalid ones, and the model a search would use",
  usage: "kforge config [--json]",
  details: [
    "Settings come from, first to last: the environment, ./kforge.json (this project), KFORGE_HOME/config.json,",
    'the default. Both files are one JSON object of setting names to values, e.g. {"KFORGE_PYTHON": "/usr/bin/python3"}.',
    "API keys are shown as [set], never their value; a project file may not hold them.",
    "Each value is checked as the commands that use it check it; invalid ones are listed with their value, their",
    "source and what is wrong, and the exit code is then 2 (other commands refuse to start until each is fixed;",
    "this one still lists everything). KFORGE_PROVIDER and KFORGE_MODEL show what a search would use now",
    "(`kforge doctor` also checks that its endpoint answers). A settings file that cannot be used (not JSON, an",
    "unknown setting, ...) is named with what is wrong and left out of the listing; the exit code is then 2.",
  ].join("\n"),
  options: {},
  reportsInvalidSettings: true,
  async run(_args, ctx) {
    // A settings file kforge cannot use is named, and everything else listed without it.
    const unreadable = unreadableSettingsFiles().map((e) => ({ file: e.path, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }));
    const settings = effectiveSettings(process.env, process.cwd(), { unreadable: "skip" });
    const found = searchModel(ctx.config, settings);
    const search = "model" in found ? found.model : null;
    // Without a resolved search model, the provider (and its default model) when that much is settled.
    const provider = search ? { name: search.provider, from: search.providerFrom } : "provider" in found ? found.provider : null;
    const unresolved = "provider" in found ? found.provider : null;
    // KFORGE_PROVIDER is not a provider: no provider is in effect, so no model is either (not the default's).
    const badProvider = "problem" in found && found.problem.name === "KFORGE_PROVIDER";
    const rows: Row[] = settings.map((r) => {
      // The home and database paths as resolved, not only as their defaults read.
      if (r.source === "default" && r.name === "KFORGE_HOME") return { ...r, value: ctx.config.home };
      if (r.source === "default" && r.name === "KFORGE_DB") return { ...r, value: ctx.config.dbPath };
      // The provider and model in effect, not the rule that picks them (kept as the explanation).
      const unsaid = (from: string) => from.replace(/^default, /, "");
      if (r.name === "KFORGE_PROVIDER" && provider && r.source === "default")
        return { ...r, value: provider.name, note: `${unsaid(provider.from)}; the rule: ${PROVIDER_RULE}` };
      if (r.name === "KFORGE_MODEL" && search && r.source === "default")
        return search.policy === "offline"
          ? { ...r, value: "none", note: "the offline policy calls no model" }
          : { ...r, value: search.model, note: unsaid(search.modelFrom) };
      if (r.name === "KFORGE_MODEL" && badProvider)
        return r.source === "default"
          ? { ...r, value: "none", note: "no provider is in effect: KFORGE_PROVIDER is invalid" }
          : { ...r, note: "not in effect while KFORGE_PROVIDER is invalid" };
      if (r.name === "KFORGE_MODEL" && unresolved && r.source === "default")
        return unresolved.model
          ? { ...r, value: unresolved.name === "offline" ? "none" : unresolved.model, note: `${unresolved.name}'s` }
          : { ...r, value: "none", note: `${unresolved.name} has no default model` };
      return r;
    });
    const problems: SettingProblem[] = [
      ...rows.flatMap((r) => (r.invalid === undefined ? [] : [{ name: r.name, message: r.invalid, hint: fixHint(r), from: whereFrom(r) }])),
      ...usageProblems(ctx.config, rows),
      ...("problem" in found ? [found.problem] : []),
    ];
    const files = { project: join(process.cwd(), PROJECT_FILE), home: join(ctx.config.home, HOME_FILE) };
    const filesExist = { project: existsSync(files.project), home: existsSync(files.home) };
    const refused = unreadable.length
      ? `a search now would refuse to start: ${unreadable.length === 1 ? "a settings file cannot be used" : "settings files cannot be used"} (above)${search ? `; without ${unreadable.length === 1 ? "it" : "them"}, it would use ${describeSearch(search)}` : ""}`
      : null;
    const payload = {
      files,
      filesExist,
      unreadable,
      settings: rows,
      search: search ?? { error: "problem" in found ? found.problem : null },
      invalid: problems,
    };
    emit(ctx, payload, () =>
      [
        settingsFilesLine(files, filesExist, new Set(unreadable.map((u) => u.file))),
        ...(unreadable.length
          ? [
              `unusable settings file${unreadable.length === 1 ? "" : "s"} (every other command refuses to start until ${unreadable.length === 1 ? "it is" : "each is"} fixed; the settings listed below leave ${unreadable.length === 1 ? "it" : "them"} out):`,
              ...unreadable.map((u) => `  ${inertText(u.message)}${u.hint ? `\n    hint: ${inertText(u.hint)}` : ""}`),
              "",
            ]
          : []),
        ...listing(rows, problems),
        "",
        refused ??
          (search
            ? `a search now would use ${describeSearch(search)}`
            : `a search now would refuse to start: see "${"problem" in found ? found.problem.name : "search model"}" below`),
        ...(problems.length
          ? [
              "",
              `invalid (a command that uses ${problems.length === 1 ? "it refuses" : "them refuses"} to run; fix or unset ${problems.length === 1 ? "it" : "each"} where it is set):`,
              ...problems.map((p) => `  ${p.name}: ${p.message} (from ${p.from})${p.hint ? `\n    hint: ${p.hint}` : ""}`),
            ]
          : []),
      ].join("\n"),
    );
    // Each unusable file as every other command reports it, then the invalid settings.
    for (const u of unreadable) ctx.stderr.write(`error (user): ${inertText(u.message)}\n`);
    if (problems.length) {
      ctx.stderr.write(
        `error (user): ${problems.length} invalid setting${problems.length === 1 ? "" : "s"}: ${problems.map((p) => p.name).join(", ")}\n`,
      );
    }
    return unreadable.length || problems.length ? 2 : 0;
  },
};

/** Which settings files there are: each path, marked found (or found but unusable) or not found; "none" when neither exists. */
function settingsFilesLine(files: { project: string; home: string }, exist: { project: boolean; home: boolean }, unusable: Set<string>): string {
  if (!exist.project && !exist.home) return `settings files: none (kforge reads ${files.project} (project) and ${files.home} (home) when they exist)`;
  const mark = (kind: "project" | "home") =>
    `${files[kind]} (${kind}, ${unusable.has(files[kind]) ? "found, cannot be used: see below" : exist[kind] ? "found" : "not found"})`;
  return `settings files: ${mark("project")}, ${mark("home")}`;
}

/** One line per setting: name, value, source (and note); an invalid one says so on its line. */
function listing(rows: Row[], problems: SettingProblem[]): string[] {
  const width = Math.max(...rows.map((r) => r.name.length));
  const where = (r: Row) => (r.source === "env" ? "environment" : r.source === "default" ? "default" : `${r.source} file ${r.file}`);
  return rows.map((r) => {
    const bad = problems.find((p) => p.name === r.name || p.settings?.includes(r.name));
    const line = `${r.name.padEnd(width)}  ${inertText(r.value)}  (${where(r)}${r.note ? `, ${r.note}` : ""})`;
    return bad ? `${line}  INVALID: ${bad.message}` : line;
  });
}

/** How to fix a setting its schema refuses: its value as given, the values it may take (when listed), where to change it. */
function fixHint(r: Row): string {
  const to = r.allowed ? `set it to one of ${r.allowed.join(", ")}` : r.expected ? `set it to ${r.expected}` : "set it to a valid value";
  const where = r.source === "env" ? `${to}, or unset it in the environment` : `${to} in ${r.file}, or remove it from that file`;
  return `${r.name} is ${JSON.stringify(r.value)}: ${where}`;
}

function describeSearch(s: SearchModel): string {
  if (s.policy === "offline") return `the offline template-and-mutation policy, no model (provider offline: ${s.providerFrom})`;
  const roles = s.roles.map((r) => `\n  role ${r.role}: ${r.provider} model "${r.model}" at ${r.baseUrl} (KFORGE_ROLE_MODELS)`).join("");
  return `${s.provider} model "${s.model}" at ${s.baseUrl} (provider: ${s.providerFrom}; model: ${s.modelFrom})${roles}`;
}
