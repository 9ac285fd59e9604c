/** `kforge search --problem NAME [budget flags]`: grows a tree of verified candidate kernels; prints the run id first. */
import { UserError } from "../../core/errors.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { existsSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { loadProblem } from "../../problems/load.ts";
import { variantFiles } from "../variant-files.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { CommandContext, ParsedArgs } from "../command.ts";
import { createRun, newRunId } from "../../graph/run.ts";
import { describeLimits } from "../../graph/budget.ts";
import type { Command } from "../command.ts";
import { limitsFromFlags, optionsFromFlags, progressMode, PROGRESS_FLAGS, SEARCH_FLAGS, SHAPE_FLAGS } from "../search/flags.ts";
import { parseShapes, withShapes } from "../../problems/shapes.ts";
import { runSession } from "../search/session.ts";
import { openComponents } from "../search/components.ts";
import { QUEUE_FLAG, withQueueFlag } from "../search/queue-flag.ts";
import { defaultModelSettings } from "../../agents/model.ts";
import { preflightModels } from "../../agents/preflight.ts";
import { requireSandbox } from "../../tools/sandbox/sandbox.ts";
import { createRedactor } from "../../core/redact.ts";
import { openRunLog } from "../../core/run-log.ts";
import { asSearchProblem, kernelBenchOf } from "../../problems/kernelbench/kind.ts";
import { isKernelBenchRef, loadKernelBenchProblem } from "../../problems/kernelbench/load.ts";
import { requireKernelBenchOffline } from "../../agents/kernelbench/offline.ts";
import { usesOfflinePolicy } from "../../agents/model.ts";
import { requirePython } from "../../tools/verifier/python-env.ts";
import { requireVerifierFor } from "../search/verifier-checks.ts";

/** The `search` subcommand. */
export const searchCommand: Command = {
  name: "search",
  summary: "search for a fast, correct kernel: a tree of model-written candidates, verified and resumable",
  usage:
    "kforge search (--problem NAME|DIR | --variant FILE | --score-mod FILE [--mask-mod FILE]) [--name NAME] [--budget 15m] [--max-nodes N] [--max-tokens N] [--max-cost USD]\n" +
    "                     [--target X] [--branching 4] [--seed N] [--quiet] [--json]",
  details: [
    "The run id is printed first. Ctrl-C stops cleanly: the run is marked interrupted and",
    "`kforge resume RUN` continues it (after a crash or kill -9 too). `kforge runs` lists runs.",
    "The model comes from the environment (DEEPSEEK_API_KEY, or KFORGE_PROVIDER=openai-compatible",
    "KFORGE_BASE_URL=... KFORGE_MODEL=...); with none, the offline policy runs. Each endpoint gets one small",
    "request before the run is created (a dead or mistyped one fails here, naming what answered). If it dies",
    "mid-run, calls pause (KFORGE_BREAKER_*); still down, the run ends `stopped` (exit 75): `kforge resume RUN`.",
    "A new variant: --variant FILE (its score_mod and/or mask_mod, or a factory returning them), or",
    "--score-mod/--mask-mod from separate files, scaffold a problem (as `kforge problems new` does) under",
    "$KFORGE_HOME/problems/NAME, then search it; the memory of wins seeds it with related kernels.",
  ].join("\n"),
  options: {
    problem: {
      type: "string",
      short: "p",
      valueName: "NAME",
      description: "a problem of the suite (kforge problems), a problem folder, or kernelbench:FILE",
    },
    variant: {
      type: "string",
      valueName: "FILE",
      description: "search a new variant: a FlexAttention file with its score_mod and/or mask_mod (FILE:NAME picks one factory or function)",
    },
    "score-mod": { type: "string", valueName: "FILE", description: "search a new variant: a FlexAttention-style score_mod file" },
    "mask-mod": { type: "string", valueName: "FILE", description: "search a new variant: a FlexAttention-style mask_mod file" },
    name: { type: "string", valueName: "NAME", description: "the new variant's problem name (default: from the file name)" },
    ...SEARCH_FLAGS,
    ...SHAPE_FLAGS,
    ...PROGRESS_FLAGS,
    ...QUEUE_FLAG,
  },
  async run(args, given) {
    const ctx = { ...given, config: withQueueFlag(given.config, args) }; // --queue: the components and the lanes meter see it
    const startedAt = Date.now(); // the wall budget counts from here
    const shapes = typeof args.values["shapes"] === "string" ? args.values["shapes"] : undefined;
    // A suite problem is loaded (with its --shapes) now; a new variant is only named, and made after the checks.
    const target = targetOf(args, ctx, shapes);
    const limits = limitsFromFlags(args);
    const options = optionsFromFlags(args);
    // Every configuration check comes before the run exists: a mistyped endpoint leaves no dead run behind, and a
    // refused new variant leaves no folder behind.
    const model = defaultModelSettings(ctx.config);
    requirePython(ctx.config.python); // a missing interpreter is named as such, not as a broken sandbox
    await preflightModels(ctx.config);
    const offline = usesOfflinePolicy(ctx.config);
    const kb = "problem" in target ? kernelBenchOf(target.problem) : null;
    if (kb && offline) await requireKernelBenchOffline(ctx.config, kb);
    await requireSandbox(ctx.config.python, ctx.config.unsafeNoSandbox); // candidates never run unconfined
    const device = "problem" in target ? target.problem.spec.device : target.device;
    const name = "problem" in target ? target.problem.spec.name : target.variant;
    await requireVerifierFor(ctx.config, { name, device, kernelBench: kb !== null }, { offline });
    const scaffolded = "problem" in target ? null : await target.scaffold();
    const problem = "problem" in target ? target.problem : withShapes(scaffolded!, shapes);
    let created = false;
    try {
      const db = openDatabase(ctx.config.dbPath);
      try {
        const redactor = createRedactor(ctx.config.secrets);
        const store = new TraceStore(db, { redactor }).setup();
        const runId = newRunId();
        const components = await openComponents(ctx.config, problem, db, store, { runId, limits });
        try {
          createRun(store, {
            runId,
            problem: problem.spec.name,
            limits,
            options,
            config: {
              problemPath: problem.dir,
              ...(kb ? { problemRef: `kernelbench:${kb.spec.file}` } : {}),
              ...(shapes !== undefined ? { shapes } : {}),
              provider: model.provider,
              model: model.model,
            },
          });
          created = true;
        } catch (err) {
          await components.close();
          throw err;
        }
        (ctx.json ? ctx.stderr : ctx.stdout).write(`run ${runId}\n`);
        const mode = progressMode(args, ctx.json, ctx.stdout);
        const searching = `searching ${problem.spec.name} (${describeLimits(limits)} from the start, baselines included; branching ${options.branching}, seed ${options.seed}) into ${ctx.config.dbPath}`;
        if (mode !== "quiet") (ctx.json ? ctx.stderr : ctx.stdout).write(`${searching}\n`);
        const log = openRunLog(ctx.config.home, runId, ctx.config.logLevel, (t) => redactor.text(t));
        log.info(`kforge search: run ${runId}, ${searching}`);
        log.debug(`model ${model.provider}/${model.model ?? "-"}, python ${ctx.config.python}, problem folder ${problem.dir}`);
        return await runSession(ctx, { runId, problem, limits, options, db, store, mode, components, startedAt, log });
      } finally {
        db.close();
      }
    } finally {
      // A variant made by this command is removed again if its search did not start (nothing else refers to it).
      if (scaffolded && !created) {
        rmSync(scaffolded.dir, { recursive: true, force: true });
        ctx.stderr.write(`removed the new variant's folder ${scaffolded.dir}: its search did not start\n`);
      }
    }
  },
};

/** A suite problem (loaded), or a new variant to scaffold from the user's mod files once every check has passed. */
type Target = { problem: LoadedProblem } | { variant: string; device: "cuda"; scaffold: () => Promise<LoadedProblem> };

/** What to search: a suite name or folder (loaded now), or a new variant from the user's mod files (named, not made yet). */
function targetOf(args: ParsedArgs, ctx: CommandContext, shapes: string | undefined): Target {
  const name = args.values["problem"];
  const { scoreMod, maskMod } = variantFiles(args.values);
  const hasMods = typeof scoreMod === "string" || typeof maskMod === "string";
  if (typeof name === "string" && hasMods) throw new UserError("give either --problem or a variant (--variant, --score-mod/--mask-mod), not both");
  if (typeof name === "string" && isKernelBenchRef(name)) {
    if (typeof args.values["shapes"] === "string")
      throw new UserError("--shapes is for attention problems: a KernelBench problem's inputs are its get_inputs()");
    return { problem: asSearchProblem(loadKernelBenchProblem(name)) };
  }
  if (typeof name === "string") return { problem: withShapes(loadProblem(name), shapes) };
  if (shapes !== undefined) parseShapes(shapes); // a mistyped --shapes is refused before the variant is made
  if (!hasMods) throw new UserError("`kforge search` needs --problem NAME or --variant FILE", { hint: "list problems with `kforge problems`" });
  const first = ((typeof scoreMod === "string" ? scoreMod : maskMod) as string).replace(/(\.py):[A-Za-z_]\w*$/, "$1");
  const given = args.values["name"];
  const variant =
    typeof given === "string"
      ? given
      : basename(first)
          .replace(/\.py$/, "")
          .toLowerCase()
          .replace(/[^a-z0-9_]/g, "_")
          .replace(/^[^a-z]+/, "");
  const dir = join(ctx.config.home, "problems");
  if (existsSync(join(dir, variant))) {
    throw new UserError(`a variant named "${variant}" already exists in ${dir}`, {
      hint: `search it again with --problem ${variant}, or name the new one with --name`,
    });
  }
  const scaffold = async (): Promise<LoadedProblem> => {
    const { scaffoldProblem } = await import("../../problems/scaffold.ts");
    const folder = await scaffoldProblem({
      name: variant,
      scoreModPath: scoreMod,
      maskModPath: maskMod,
      dir,
      python: ctx.config.python,
      description: undefined,
    });
    (ctx.json ? ctx.stderr : ctx.stdout).write(`new variant ${variant}: ${folder}\n`);
    return loadProblem(folder);
  };
  // search --score-mod makes a CUDA problem (`kforge problems new --device cpu` makes a CPU one).
  return { variant, device: "cuda", scaffold };
}
