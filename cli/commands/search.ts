/** `kforge search --problem NAME [budget flags]`: grows a tree of verified candidate kernels; prints the run id first. */
import { UserError } from "../../core/errors.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { loadProblem } from "../../problems/load.ts";
import { createRun, newRunId } from "../../graph/run.ts";
import { describeLimits } from "../../graph/budget.ts";
import type { Command } from "../command.ts";
import { limitsFromFlags, optionsFromFlags, progressMode, PROGRESS_FLAGS, SEARCH_FLAGS } from "../search/flags.ts";
import { runSession } from "../search/session.ts";

/** The `search` subcommand. */
export const searchCommand: Command = {
  name: "search",
  summary: "search for a fast, correct kernel: a tree of model-written candidates, verified and resumable",
  usage:
    "kforge search --problem NAME|DIR [--budget 15m] [--max-nodes N] [--max-tokens N] [--max-cost USD]\n" +
    "                     [--target X] [--branching 4] [--seed N] [--quiet] [--json]",
  details: [
    "The run id is printed first. Ctrl-C stops cleanly: the run is marked interrupted and",
    "`kforge resume RUN` continues it (after a crash or kill -9 too). `kforge runs` lists runs.",
    "The model comes from the environment (DEEPSEEK_API_KEY, or KFORGE_PROVIDER=openai-compatible",
    "KFORGE_BASE_URL=... KFORGE_MODEL=...); with none, the offline policy runs.",
  ].join("\n"),
  options: {
    problem: { type: "string", short: "p", valueName: "NAME", description: "a problem of the suite (kforge problems) or a problem folder" },
    ...SEARCH_FLAGS,
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    const name = args.values["problem"];
    if (typeof name !== "string") throw new UserError("`kforge search` needs --problem NAME", { hint: "list problems with `kforge problems`" });
    const problem = loadProblem(name);
    const limits = limitsFromFlags(args);
    const options = optionsFromFlags(args);
    const db = openDatabase(ctx.config.dbPath);
    try {
      const store = new TraceStore(db).setup();
      const runId = newRunId();
      createRun(store, { runId, problem: problem.spec.name, limits, options, config: { problemPath: problem.dir, provider: ctx.config.model.provider, model: ctx.config.model.model } });
      (ctx.json ? ctx.stderr : ctx.stdout).write(`run ${runId}\n`);
      const mode = progressMode(args, ctx.json, ctx.stdout);
      if (mode !== "quiet") (ctx.json ? ctx.stderr : ctx.stdout).write(`searching ${problem.spec.name} (${describeLimits(limits)}, branching ${options.branching}, seed ${options.seed}) into ${ctx.config.dbPath}\n`);
      return await runSession(ctx, { runId, problem, limits, options, db, store, mode });
    } finally {
      db.close();
    }
  },
};
