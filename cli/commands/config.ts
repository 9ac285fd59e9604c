/** `kforge config`: every setting's effective value and where it came from (environment, project file, home file, default). */
import { join } from "node:path";
import { effectiveSettings } from "../../core/config.ts";
import { HOME_FILE, PROJECT_FILE } from "../../core/config-files.ts";
import { inertText } from "../../core/inert-text.ts";
import { emit, type Command } from "../command.ts";

/** The `config` subcommand. */
export const configCommand: Command = {
  name: "config",
  summary: "show each setting's effective value and where it came from",
  usage: "kforge config [--json]",
  details: [
    "Settings come from, first to last: the environment, ./kforge.json (this project), KFORGE_HOME/config.json,",
    'the default. Both files are one JSON object of setting names to values, e.g. {"KFORGE_PYTHON": "/usr/bin/python3"}.',
    "API keys are shown as [set], never their value; a project file may not hold them.",
  ].join("\n"),
  options: {},
  async run(_args, ctx) {
    const rows = effectiveSettings().map((r) =>
      // The home and database paths as resolved, not only as their defaults read.
      r.source === "default" && r.name === "KFORGE_HOME"
        ? { ...r, value: ctx.config.home }
        : r.source === "default" && r.name === "KFORGE_DB"
          ? { ...r, value: ctx.config.dbPath }
          : r,
    );
    const files = { project: join(process.cwd(), PROJECT_FILE), home: join(ctx.config.home, HOME_FILE) };
    emit(ctx, { files, settings: rows }, () => {
      const width = Math.max(...rows.map((r) => r.name.length));
      const where = (r: (typeof rows)[number]) =>
        r.source === "env" ? "environment" : r.source === "default" ? "default" : `${r.source} file ${r.file}`;
      return [
        `settings files: ${files.project} (project), ${files.home} (home)`,
        ...rows.map((r) => `${r.name.padEnd(width)}  ${inertText(r.value)}  (${where(r)})`),
      ].join("\n");
    });
    return 0;
  },
};
