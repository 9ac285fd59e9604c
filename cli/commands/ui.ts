/** `kforge ui [--port 8377] [--db PATH]`: serves the trace explorer on 127.0.0.1 until Ctrl-C. */
import { UserError } from "../../core/errors.ts";
import { DEFAULT_MAX_STREAMS, startUiServer } from "../../ui/server.ts";
import { emit, type Command, DB_OPTION, dbPathOf } from "../command.ts";

/** The default port: "8377" spells nothing, it is just rarely taken. */
export const DEFAULT_UI_PORT = 8377;

export const uiCommand: Command = {
  name: "ui",
  summary: "browse runs and their search trees in a local web page (read-only, 127.0.0.1)",
  usage: "kforge ui [--port 8377] [--db PATH] [--max-streams N]",
  details:
    "The page only reads the database: browsing a run while a search writes it is safe.\nEverything it needs is served locally; no outside network is used.",
  options: {
    port: { type: "string", valueName: "PORT", description: `port on 127.0.0.1 (0 picks a free one)`, default: String(DEFAULT_UI_PORT) },
    db: DB_OPTION,
    "max-streams": {
      type: "string",
      valueName: "N",
      description: "live-update streams open at once (open pages); one more is refused with 503",
      default: String(DEFAULT_MAX_STREAMS),
    },
  },
  async run(args, ctx) {
    const port = Number(args.values["port"] ?? DEFAULT_UI_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port needs a port number, got "${String(args.values["port"])}"`);
    const maxStreams = Number(args.values["max-streams"] ?? DEFAULT_MAX_STREAMS);
    if (!Number.isInteger(maxStreams) || maxStreams < 1 || maxStreams > 10_000)
      throw new UserError(`--max-streams needs a whole number from 1 to 10000, got "${String(args.values["max-streams"])}"`);
    const dbPath = dbPathOf(args, ctx);
    let server: Awaited<ReturnType<typeof startUiServer>>;
    try {
      server = await startUiServer({ dbPath, port, maxStreams });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
        throw new UserError(`port ${port} is in use`, { hint: "pass --port N (or --port 0 for any free port)", cause: err });
      throw err;
    }
    emit(
      ctx,
      { url: server.url, port: server.port, db: dbPath },
      () => `kforge trace explorer: ${server.url}  (database ${dbPath}, read-only; Ctrl-C to stop)`,
    );
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  },
};
