/** The `kforge` command: dispatches to one file per subcommand under cli/commands/. */
import { parseArgs } from "node:util";
import { loadConfig } from "../core/config.ts";
import { describeError, UserError } from "../core/errors.ts";
import type { Command, CommandContext } from "./command.ts";
import { commands } from "./commands/index.ts";
import { joinNegativeValues } from "./search/negative-values.ts";
import { loadSecrets } from "../core/config.ts";
import { createRedactor } from "../core/redact.ts";
import { redactingStream } from "../core/redacting-stream.ts";

const GLOBAL_OPTIONS = {
  json: { type: "boolean", description: "print machine-readable JSON on stdout" },
  help: { type: "boolean", short: "h", description: "show help" },
} as const;

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "kforge: a multi-agent search for fast, correct GPU attention kernels",
    "",
    "usage: kforge <command> [options]   (kforge <command> --help for details)",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "global options:",
    "  --json      print machine-readable JSON on stdout",
    "  -h, --help  show help",
  ].join("\n");
}

/** The help text of one command, generated from its option table. */
export function commandHelp(cmd: Command): string {
  const rows = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.valueName ?? "VALUE"}` : ""}`;
    return [flag, o.description + (o.default !== undefined ? ` (default: ${String(o.default)})` : "")] as const;
  });
  rows.push(["--json", GLOBAL_OPTIONS.json.description], ["-h, --help", GLOBAL_OPTIONS.help.description]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return [
    `${cmd.summary}`,
    "",
    `usage: ${cmd.usage}`,
    "",
    "options:",
    ...rows.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`),
    ...(cmd.details ? ["", cmd.details.trimEnd()] : []),
  ].join("\n");
}

/** Runs kforge with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  // Whatever a command prints, errors included, no configured secret reaches the terminal.
  const secrets = createRedactor(loadSecrets());
  const stdout = redactingStream(io.stdout ?? process.stdout, secrets);
  const stderr = redactingStream(io.stderr ?? process.stderr, secrets);
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    stdout.write(`${topHelp()}\n`);
    return name ? 0 : 2;
  }
  if (name === "--version") {
    stdout.write("kforge 0.1.0\n");
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    stderr.write(`error (user): unknown command "${name}"\n  hint: run \`kforge --help\` for the list\n`);
    return 2;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let json = false;
  try {
    const parsed = parseArgs({
      args: joinNegativeValues(rest, cmd.options),
      options: { ...cmd.options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      stdout.write(`${commandHelp(cmd)}\n`);
      return 0;
    }
    json = parsed.values.json === true;
    // An invalid setting stops every command before it runs, except the one that reports it (`kforge config`).
    const config = loadConfig(process.env, process.cwd(), { invalid: cmd.reportsInvalidSettings ? "default" : "throw" });
    const ctx: CommandContext = { config, json, stdout, stderr, signal: controller.signal };
    return await cmd.run(parsed, ctx);
  } catch (err) {
    if (err instanceof TypeError && "code" in err && String((err as { code: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      stderr.write(`error (user): ${err.message}\n  hint: run \`kforge ${cmd.name} --help\`\n`);
      return 2;
    }
    if (json) stdout.write(`${JSON.stringify({ error: errorJson(err) }, null, 2)}\n`);
    stderr.write(`${describeError(err)}\n`);
    return err instanceof UserError ? 2 : 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function errorJson(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { name: err.name, message: err.message, ...("blame" in err ? { blame: err.blame } : {}) };
  return { message: String(err) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${describeError(err)}\n`);
      process.exit(1);
    },
  );
}
