/** `kforge bench kernelbench ...`: benchmarks of the search over a problem set (KernelBench levels). */
import { UserError } from "../../core/errors.ts";
import type { Command } from "../command.ts";
import { runKernelBench } from "../bench/kernelbench.ts";
import { parseDuration } from "../../graph/budget.ts";

/** The `bench` subcommand. */
export const benchCommand: Command = {
  name: "bench",
  summary: "search every problem of a KernelBench level and report correct rate and fast_p (resumable)",
  usage:
    "kforge bench kernelbench PATH --level N --budget-per-problem TIME [--problems a,b,...] [--max-nodes N] [--branching N] [--json]\n" +
    "       kforge bench kernelbench --resume BENCH",
  details: [
    "PATH is your KernelBench checkout (the repository, its KernelBench/ folder or a levelN folder). Each problem",
    "gets one `kforge search` of --budget-per-problem (its baselines included). The bench id is printed first;",
    "after Ctrl-C, a crash or kill -9, `--resume BENCH` continues it: finished problems are kept, a started",
    "search is resumed, the rest are searched. The report: correct rate, fast_1 and fast_2 against eager",
    "PyTorch and against torch.compile, and a row per problem. fast_p = share of the problems whose best",
    "kernel is correct AND more than p times faster than the baseline (KernelBench's definition).",
  ].join("\n"),
  options: {
    level: { type: "string", valueName: "N", description: "the KernelBench level to search (1, 2, 3, ...)" },
    "budget-per-problem": { type: "string", valueName: "TIME", description: "each problem's search budget, e.g. 10m (default 15m)" },
    problems: {
      type: "string",
      valueName: "LIST",
      description: "only these problems: names, file stems or numbers, comma-separated (e.g. 19,23_Row_softmax)",
    },
    resume: { type: "string", valueName: "BENCH", description: "continue an interrupted bench (its id or a unique prefix)" },
    "max-nodes": { type: "string", valueName: "N", description: "each search stops after N candidates" },
    branching: { type: "string", valueName: "N", description: "ideas per expansion of each search (default 4)" },
  },
  async run(args, ctx) {
    const [kind, root] = args.positionals;
    if (kind !== "kernelbench")
      throw new UserError(`kforge bench: unknown benchmark "${kind ?? ""}"`, {
        hint: "kforge bench kernelbench PATH --level 1 --budget-per-problem 10m",
      });
    const resume = args.values["resume"];
    if (typeof resume === "string") return runKernelBench(ctx, { resume });
    if (!root) throw new UserError("`kforge bench kernelbench` needs the path of your KernelBench checkout (or --resume BENCH)");
    const levelText = args.values["level"];
    const level = Number(levelText);
    if (typeof levelText !== "string" || !Number.isInteger(level) || level < 1)
      throw new UserError("--level N is required: the KernelBench level to search, e.g. --level 1");
    const budget = typeof args.values["budget-per-problem"] === "string" ? args.values["budget-per-problem"] : "15m";
    parseDuration(budget); // a mistyped budget fails before the bench exists
    const searchFlags: Record<string, string> = {};
    for (const f of ["max-nodes", "branching"]) {
      const v = args.values[f];
      if (typeof v === "string") searchFlags[f] = v;
    }
    const only = typeof args.values["problems"] === "string" ? args.values["problems"].split(",").filter(Boolean) : undefined;
    return runKernelBench(ctx, { create: { root, level, budget, searchFlags, ...(only ? { only } : {}) } });
  },
};
