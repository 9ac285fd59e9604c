/** `kforge resume RUN`: continues an interrupted or killed run from its last checkpoint, redoing no finished work. */
import { existsSync } from "node:fs";
import { UserError } from "../../core/errors.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { RunRow } from "../../memory/trace-types.ts";
import { loadProblem } from "../../problems/load.ts";
import { withShapes } from "../../problems/shapes.ts";
import { assertResumable } from "../../graph/run.ts";
import { DEFAULT_SEARCH_OPTIONS, type SearchOptions } from "../../graph/deps.ts";
import { traceQueries } from "../../memory/trace-queries.ts";
import type { Command } from "../command.ts";
import { progressMode, PROGRESS_FLAGS } from "../search/flags.ts";
import { runSession } from "../search/session.ts";
import { openComponents } from "../search/components.ts";
import { preflightModels } from "../../agents/preflight.ts";
import { requireSandbox } from "../../tools/sandbox/sandbox.ts";
import { createRedactor } from "../../core/redact.ts";

/** The `resume` subcommand. */
export const resumeCommand: Command = {
  name: "resume",
  summary: "continue an interrupted or killed search run where it stopped",
  usage: "kforge resume RUN [--quiet] [--json]",
  details:
    "RUN may be a unique prefix of the run id. The run keeps its budget; time already spent counts.\n" +
    "Runs stopped because the model endpoint stayed down (status stopped) resume the same way, once it is back.",
  options: { ...PROGRESS_FLAGS },
  async run(args, ctx) {
    const [ref] = args.positionals;
    if (!ref) throw new UserError("`kforge resume` needs a RUN id", { hint: "list runs with `kforge runs`" });
    if (!existsSync(ctx.config.dbPath)) throw new UserError(`no kforge database at ${ctx.config.dbPath}`, { hint: "set KFORGE_DB or KFORGE_HOME to where the run was made" });
    const db = openDatabase(ctx.config.dbPath);
    try {
      const store = new TraceStore(db, { redactor: createRedactor(ctx.config.secrets) }).setup();
      const run = findRun(store, ref);
      assertResumable(run);
      const config = run.config as { problemPath?: string; shapes?: string; options?: Partial<SearchOptions> };
      // the run's own shapes (`search --shapes`), so a resumed run benchmarks what it began with
      const problem = withShapes(loadProblem(config.problemPath && existsSync(config.problemPath) ? config.problemPath : run.problem), config.shapes);
      const options: SearchOptions = { ...DEFAULT_SEARCH_OPTIONS, ...config.options };
      const limits = traceQueries(db).getRun(run.id)!.budget;
      // The same checks as a new search: a resume against a still-dead endpoint stops here, the run untouched.
      await preflightModels(ctx.config);
      await requireSandbox(ctx.config.python, ctx.config.unsafeNoSandbox); // candidates never run unconfined
      const components = await openComponents(ctx.config, problem, db, store, { runId: run.id, limits });
      (ctx.json ? ctx.stderr : ctx.stdout).write(`run ${run.id}\n`);
      const mode = progressMode(args, ctx.json, ctx.stdout);
      return await runSession(ctx, { runId: run.id, problem, limits, options, db, store, mode, components });
    } finally {
      db.close();
    }
  },
};

/** The run whose id is `ref` or starts with it (when unique). */
export function findRun(store: TraceStore, ref: string): RunRow {
  const exact = store.getRun(ref);
  if (exact) return exact;
  const matches = store.listRuns(100_000).filter((r) => r.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UserError(`"${ref}" matches ${matches.length} runs`, { hint: `be more specific: ${matches.slice(0, 3).map((r) => r.id).join(", ")}` });
  throw new UserError(`no run "${ref}"`, { hint: "list runs with `kforge runs`" });
}
