/** `kforge resume RUN`: continues an interrupted or killed run from its last checkpoint, redoing no finished work. */
import { existsSync } from "node:fs";
import { UserError } from "../../core/errors.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { RunRow } from "../../memory/trace-types.ts";
import { loadProblem } from "../../problems/load.ts";
import { assertResumable } from "../../graph/run.ts";
import { DEFAULT_SEARCH_OPTIONS, type SearchOptions } from "../../graph/deps.ts";
import type { BudgetLimits } from "../../graph/budget.ts";
import type { Command } from "../command.ts";
import { progressMode, PROGRESS_FLAGS } from "../search/flags.ts";
import { runSession } from "../search/session.ts";

/** The `resume` subcommand. */
export const resumeCommand: Command = {
  name: "resume",
  summary: "continue an interrupted or killed search run where it stopped",
  usage: "kforge resume RUN [--quiet] [--json]",
  details: "RUN may be a unique prefix of the run id. The run keeps its budget; time already spent counts.",
  options: { ...PROGRESS_FLAGS },
  async run(args, ctx) {
    const [ref] = args.positionals;
    if (!ref) throw new UserError("`kforge resume` needs a RUN id", { hint: "list runs with `kforge runs`" });
    if (!existsSync(ctx.config.dbPath)) throw new UserError(`no kforge database at ${ctx.config.dbPath}`, { hint: "set KFORGE_DB or KFORGE_HOME to where the run was made" });
    const db = openDatabase(ctx.config.dbPath);
    try {
      const store = new TraceStore(db).setup();
      const run = findRun(store, ref);
      assertResumable(run);
      const config = run.config as { problemPath?: string; options?: Partial<SearchOptions> };
      const problem = loadProblem(config.problemPath && existsSync(config.problemPath) ? config.problemPath : run.problem);
      const options: SearchOptions = { ...DEFAULT_SEARCH_OPTIONS, ...config.options };
      (ctx.json ? ctx.stderr : ctx.stdout).write(`run ${run.id}\n`);
      const mode = progressMode(args, ctx.json, ctx.stdout);
      return await runSession(ctx, { runId: run.id, problem, limits: run.budget as unknown as BudgetLimits, options, db, store, mode });
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
