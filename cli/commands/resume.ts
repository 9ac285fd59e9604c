/** `kforge resume RUN`: continues an interrupted or killed run from its last checkpoint, redoing no finished work. */
import { existsSync } from "node:fs";
import { UserError } from "../../core/errors.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { RunRow } from "../../memory/trace-types.ts";
import { loadProblem } from "../../problems/load.ts";
import { withShapes } from "../../problems/shapes.ts";
import { assertResumable } from "../../graph/run.ts";
import { formatDuration, parseDuration } from "../../graph/budget.ts";
import { DEFAULT_SEARCH_OPTIONS, type SearchOptions } from "../../graph/deps.ts";
import { traceQueries } from "../../memory/trace-queries.ts";
import type { Command } from "../command.ts";
import { progressMode, PROGRESS_FLAGS } from "../search/flags.ts";
import { runSession } from "../search/session.ts";
import { openComponents } from "../search/components.ts";
import { QUEUE_FLAG, withQueueFlag } from "../search/queue-flag.ts";
import { preflightModels } from "../../agents/preflight.ts";
import { requireSandbox } from "../../tools/sandbox/sandbox.ts";
import { createRedactor } from "../../core/redact.ts";
import { openRunLog } from "../../core/run-log.ts";
import { extendBudget } from "../search/extend-budget.ts";
import { asSearchProblem, kernelBenchOf } from "../../problems/kernelbench/kind.ts";
import { requireKernelBenchOffline } from "../../agents/kernelbench/offline.ts";
import { usesOfflinePolicy } from "../../agents/model.ts";
import { loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import { requirePython } from "../../tools/verifier/python-env.ts";
import { requireVerifierFor } from "../search/verifier-checks.ts";
import { unverifiedNodes } from "../search/session.ts";
import { inertText } from "../../core/inert-text.ts";

/** The `resume` subcommand. */
export const resumeCommand: Command = {
  name: "resume",
  summary: "continue an interrupted or killed search run where it stopped",
  usage: "kforge resume RUN [--budget 2h] [--quiet] [--json]",
  details:
    "RUN may be a unique prefix of the run id. The run keeps its budget; time already spent counts.\n" +
    "--budget 2h extends it: two more hours of wall time from this resume (checks included), recorded in the run.\n" +
    "Runs stopped because the model endpoint stayed down (status stopped) resume the same way, once it is back.\n" +
    "A run stopped because its budget ran out while its baselines were measured resumes with --budget (they are measured\n" +
    "again); so does a run the budget ended with nodes cut before their verification (done, budget:wall): they are verified.",
  options: {
    budget: {
      type: "string",
      valueName: "TIME",
      description: "more wall time from this resume, e.g. 30m, 2h (default: what is left of the run's budget)",
    },
    ...PROGRESS_FLAGS,
    ...QUEUE_FLAG,
  },
  async run(args, given) {
    const ctx = { ...given, config: withQueueFlag(given.config, args) }; // --queue: the components and the lanes meter see it
    const startedAt = Date.now(); // an extension counts from here
    const [ref] = args.positionals;
    if (!ref) throw new UserError("`kforge resume` needs a RUN id", { hint: "list runs with `kforge runs`" });
    if (!existsSync(ctx.config.dbPath))
      throw new UserError(`no kforge database at ${ctx.config.dbPath}`, { hint: "set KFORGE_DB or KFORGE_HOME to where the run was made" });
    const db = openDatabase(ctx.config.dbPath);
    try {
      const redactor = createRedactor(ctx.config.secrets);
      const store = new TraceStore(db, { redactor }).setup();
      const run = findRun(store, ref);
      const more = typeof args.values["budget"] === "string" ? parseDuration(args.values["budget"]) : undefined;
      // A run the wall budget ended while work was in flight keeps the cut nodes unverified: --budget reopens it.
      const cut = run.status === "done" ? unverifiedNodes(store, run.id) : 0;
      const reopen = run.status === "done" && run.stopReason === "budget:wall" && cut > 0;
      if (reopen && more === undefined) {
        throw new UserError(
          `run ${run.id} is done (budget:wall), with ${cut} node${cut === 1 ? "" : "s"} cut before verification when its budget ran out`,
          {
            hint: `verify ${cut === 1 ? "it" : "them"} with more time: kforge resume ${run.id} --budget 5m`,
          },
        );
      }
      if (!reopen) assertResumable(run);
      const config = run.config as { problemPath?: string; problemRef?: string; shapes?: string; options?: Partial<SearchOptions> };
      // the run's own shapes (`search --shapes`), so a resumed run benchmarks what it began with; a KernelBench file in place
      const problem = config.problemRef
        ? asSearchProblem(loadKernelBenchProblem(config.problemRef))
        : withShapes(loadProblem(config.problemPath && existsSync(config.problemPath) ? config.problemPath : run.problem), config.shapes);
      const options: SearchOptions = { ...DEFAULT_SEARCH_OPTIONS, ...config.options };
      const recorded = traceQueries(db).getRun(run.id)!.budget;
      const measured = store.getBaseline(run.id) !== null;
      if (!measured && more === undefined && recorded.wallMs - run.activeMs <= 0) {
        // It would stop again at once (the baselines get what is left of the budget): say so, change nothing.
        throw new UserError(
          `run ${run.id} has no wall time left (${formatDuration(run.activeMs)} of its ${formatDuration(recorded.wallMs)} spent) and its baselines were never measured`,
          { hint: `give it more time, counted from the resume: kforge resume ${run.id} --budget 15m` },
        );
      }
      // The same checks as a new search: a resume against a still-dead endpoint stops here, the run untouched.
      requirePython(ctx.config.python);
      await preflightModels(ctx.config);
      const offline = usesOfflinePolicy(ctx.config);
      const kb = kernelBenchOf(problem);
      if (kb && offline) await requireKernelBenchOffline(ctx.config, kb);
      await requireSandbox(ctx.config.python, ctx.config.unsafeNoSandbox); // candidates never run unconfined
      await requireVerifierFor(ctx.config, { name: problem.spec.name, device: problem.spec.device, kernelBench: kb !== null }, { offline });
      // Recorded only now, once every check passed: a failed resume leaves the run's budget as it was.
      const limits = more === undefined ? recorded : extendBudget(store, run.id, recorded, more);
      if (reopen) {
        store.recordEvent(
          run.id,
          null,
          "resume",
          `reopened with more time to verify the ${cut} node${cut === 1 ? "" : "s"} cut when the budget ran out`,
        );
        store.setRunStatus(run.id, "interrupted"); // resumable from its checkpoint, like a run stopped by Ctrl-C
      }
      const components = await openComponents(ctx.config, problem, db, store, { runId: run.id, limits });
      const out = ctx.json ? ctx.stderr : ctx.stdout;
      out.write(`run ${run.id}\n`);
      const mode = progressMode(args, ctx.json, ctx.stdout);
      const left = `${formatDuration(Math.max(0, limits.wallMs - run.activeMs))} of ${formatDuration(limits.wallMs)} left${more === undefined ? "" : ` (extended by ${formatDuration(more)})`}`;
      // What this resume does before it searches on, said in every mode but --quiet (on stderr with --json).
      const doing = [
        ...(reopen ? [`verifying the ${cut} node${cut === 1 ? "" : "s"} cut when its budget ran out`] : []),
        ...(measured
          ? []
          : [
              `the baselines were never measured (run ${run.status}${run.error ? `: ${inertText(run.error).slice(0, 200)}` : ""}): measuring them first`,
            ]),
      ];
      const detail = [left, ...doing].join("; ");
      if (mode !== "quiet" || (ctx.json && doing.length > 0)) out.write(`resuming ${run.problem}: ${detail}\n`);
      const log = openRunLog(ctx.config.home, run.id, ctx.config.logLevel, (t) => redactor.text(t));
      log.info(`kforge resume: run ${run.id} (was ${run.status}), ${detail}`);
      return await runSession(ctx, { runId: run.id, problem, limits, options, db, store, mode, components, startedAt, log });
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
  if (matches.length > 1)
    throw new UserError(`"${ref}" matches ${matches.length} runs`, {
      hint: `be more specific: ${matches
        .slice(0, 3)
        .map((r) => r.id)
        .join(", ")}`,
    });
  throw new UserError(`no run "${ref}"`, { hint: "list runs with `kforge runs`" });
}
