/** The shape of one `kforge` subcommand: its help text, its options and what it runs. */
import type { ParseArgsConfig } from "node:util";
import { type Config, SETTINGS } from "../core/config.ts";
import { inertText } from "../core/inert-text.ts";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & { description: string; valueName?: string };

export interface CommandContext {
  config: Config;
  /** Set by the global --json flag: print one JSON document on stdout and nothing else there. */
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl-C / SIGTERM: long commands drain and return. */
  signal: AbortSignal;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `kforge --help`. */
  summary: string;
  /** Usage line(s), e.g. "kforge verify --problem NAME --kernel FILE". */
  usage: string;
  /** Extra help text after the options (examples, notes). */
  details?: string;
  options: Record<string, OptionSpec>;
  /**
   * The command lists and flags invalid settings itself (`kforge config`): it runs with each invalid one at its
   * default instead of refusing to start as every other command does.
   */
  reportsInvalidSettings?: boolean;
  /** Returns the process exit code. */
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}

/**
 * Prints `value` as JSON (for --json) or the human text. The human text is made inert (no escape sequence
 * from a model's reply, a kernel or a stored error can reach the terminal) unless `styled`: a command that
 * colours its own output passes it and makes every outside text inert before styling it (cli/trace).
 */
export function emit(ctx: CommandContext, value: unknown, human: () => string, opts: { styled?: boolean } = {}): void {
  if (ctx.json) ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else ctx.stdout.write(`${opts.styled ? human() : inertText(human())}\n`);
}

/** A setting's default as the settings table says it (core/config.ts, the same registry loadConfig follows). */
const settingDefault = (name: string) => SETTINGS.find((s) => s.name === name)?.meta.default;

/** `--db PATH`: the kforge database a reading command opens (trace, export, ui, runs). */
export const DB_OPTION: OptionSpec = {
  type: "string",
  valueName: "PATH",
  description:
    `the kforge database (default: the KFORGE_DB setting, else ${settingDefault("KFORGE_DB")}, KFORGE_HOME being ` +
    `${settingDefault("KFORGE_HOME")} unless set; \`kforge config\` shows the one in effect)`,
};

/** The database a reading command opens: `--db` when given, else the configured one. */
export function dbPathOf(args: ParsedArgs, ctx: CommandContext): string {
  const given = args.values["db"];
  return typeof given === "string" ? given : ctx.config.dbPath;
}
