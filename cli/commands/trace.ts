/** `kforge trace [RUN] [--node ID | --diff A B] [--correct] [--best N] [--depth N]`: the search tree in a terminal. */
import { UserError } from "../../core/errors.ts";
import { kernelDiff } from "../../ui/kernel-diff.ts";
import { findNode, findRun, openTraceReader } from "../../memory/trace-reader.ts";
import { emit, type Command, type CommandContext, DB_OPTION, dbPathOf } from "../command.ts";
import { renderNodeDetail } from "../trace/node-text.ts";
import { paint } from "../trace/text-style.ts";
import { renderTree, selectNodes, type TreeFilter } from "../trace/tree-text.ts";
import { inertText } from "../../core/inert-text.ts";
import { wholeNumber } from "../int-option.ts";

export const traceCommand: Command = {
  name: "trace",
  summary: "show a run's search tree, one node in full, or the diff of two kernels",
  usage: "kforge trace [RUN] [--correct] [--best N] [--depth N]\n       kforge trace [RUN] --node ID\n       kforge trace [RUN] --diff A B",
  details:
    'RUN is a run id, a unique prefix of one, or `latest` (the default). Nodes are named by label ("3.2", "root") or full id.\nExamples:\n  kforge trace latest --best 5\n  kforge trace r20261123 --node 5.1\n  kforge trace r20261123 --diff 4.2 5.1',
  options: {
    node: {
      type: "string",
      valueName: "ID",
      description: "show one node in full: plan, prompt, reasoning, kernel, verifier result, profile, critique",
    },
    diff: { type: "string", valueName: "A B", description: "unified diff of node A's kernel against node B's" },
    correct: { type: "boolean", description: "only correct nodes (and the ancestors connecting them)" },
    best: { type: "string", valueName: "N", description: "only the N fastest correct nodes (and their ancestors)" },
    depth: { type: "string", valueName: "N", description: "only nodes at depth <= N (the root is 0)" },
    db: DB_OPTION,
  },
  async run(args, ctx) {
    const reader = openTraceReader(dbPathOf(args, ctx));
    const q = reader.queries;
    try {
      const diffA = args.values["diff"];
      const [runArg = "latest", ...rest] = args.positionals;
      const run = findRun(q, runArg);
      const color = useColor(ctx);
      if (typeof diffA === "string") {
        const bArg = rest[0];
        if (!bArg) throw new UserError("--diff needs two nodes", { hint: `kforge trace ${run.id} --diff 4.2 5.1` });
        const [a, b] = [findNode(q, run, diffA), findNode(q, run, bArg)];
        const [ka, kb] = [q.kernel(a.id), q.kernel(b.id)];
        for (const [n, k] of [
          [a, ka],
          [b, kb],
        ] as const)
          if (k === null) throw new UserError(`node ${n.label} has no kernel (${n.status})`);
        const diff = kernelDiff(ka!, kb!, `${a.label}/kernel.py`, `${b.label}/kernel.py`);
        emit(
          ctx,
          { run: run.id, a: a.id, b: b.id, diff },
          () => (diff ? colorDiff(inertText(diff), color).trimEnd() : `the kernels of ${a.label} and ${b.label} are identical`),
          { styled: true },
        );
        return 0;
      }
      if (rest.length) throw new UserError(`unexpected argument "${rest[0]}"`, { hint: "kforge trace [RUN] [--node ID | --diff A B]" });
      const nodeArg = args.values["node"];
      if (typeof nodeArg === "string") {
        const node = findNode(q, run, nodeArg);
        const detail = q.nodeDetail(node.id)!;
        const diff =
          detail.kernel !== null && detail.parentKernel !== null
            ? kernelDiff(detail.parentKernel, detail.kernel, "parent/kernel.py", `${node.label}/kernel.py`)
            : null;
        emit(ctx, { run, ...detail, diff }, () => renderNodeDetail(detail, run, { color, labelOf: (id) => q.getNode(id)?.label ?? id }), {
          styled: true,
        });
        return 0;
      }
      const filter: TreeFilter = {
        correct: args.values["correct"] === true,
        best: intOption(args.values["best"], "--best"),
        depth: intOption(args.values["depth"], "--depth"),
      };
      const nodes = q.listNodes(run.id);
      const seeds = q.runSeeds(run.id);
      if (ctx.json) {
        const { shown, context } = selectNodes(nodes, filter);
        emit(
          ctx,
          { run, nodes: nodes.filter((n) => shown.has(n.id) || context.has(n.id)).map((n) => ({ ...n, context: context.has(n.id) })), seeds },
          () => "",
        );
      } else {
        const width = (ctx.stdout as NodeJS.WriteStream).columns;
        ctx.stdout.write(`${renderTree(run, nodes, filter, { color, width: width && width > 60 ? width : 120, seeds })}\n`);
      }
      return 0;
    } finally {
      reader.close();
    }
  },
};

function intOption(v: unknown, flag: string): number | undefined {
  return v === undefined ? undefined : wholeNumber(String(v), flag);
}

/** Colours only when asked for (NO_COLOR unset) and printing to a terminal. */
export function useColor(ctx: CommandContext): boolean {
  return ctx.config.color && (ctx.stdout as NodeJS.WriteStream).isTTY === true;
}

function colorDiff(diff: string, color: boolean): string {
  if (!color) return diff;
  return diff
    .split("\n")
    .map((l) =>
      l.startsWith("@@")
        ? paint(true, "cyan", l)
        : l.startsWith("+") && !l.startsWith("+++")
          ? paint(true, "green", l)
          : l.startsWith("-") && !l.startsWith("---")
            ? paint(true, "red", l)
            : l,
    )
    .join("\n");
}
