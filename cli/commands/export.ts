/** `kforge export [RUN] [--node ID] [--out FILE]`: the best (or a chosen) correct kernel as a ready-to-import module. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { UserError } from "../../core/errors.ts";
import { loadProblem } from "../../problems/load.ts";
import type { ProblemSpec } from "../../problems/schema.ts";
import type { ReadRun } from "../../memory/trace-rows.ts";
import type { NodeRow } from "../../memory/trace-types.ts";
import { findNode, findRun, openTraceReader } from "../../memory/trace-reader.ts";
import { emit, type Command, DB_OPTION, dbPathOf } from "../command.ts";
import { isModuleName, moduleFileName, renderKernelModule, type Provenance } from "./export-module.ts";
import { bestNode } from "../trace/tree-text.ts";
import { inertText } from "../../core/inert-text.ts";

export const exportCommand: Command = {
  name: "export",
  summary: "write a run's best (or a chosen) correct kernel as a Python module with its provenance",
  usage: "kforge export [RUN] [--node ID] [--out FILE]",
  details:
    "RUN is a run id, a unique prefix of one, or `latest` (the default). Without --out the module is written to\n" +
    "./kforge_<problem>_<node>.py; `--out -` prints it; a missing parent folder of FILE is created. The module's\n" +
    "`attention(q, k, v)` takes the problem's params as defaults; its docstring has the provenance and a usage\n" +
    "example that runs as written.\nExample:\n" +
    "  kforge export latest --out softcap_kernel.py && python -c 'import softcap_kernel; help(softcap_kernel)'",
  options: {
    node: { type: "string", valueName: "ID", description: "export this node (label like 5.1, or full id) instead of the fastest correct one" },
    out: { type: "string", valueName: "FILE", description: "where to write the module (`-` for stdout)" },
    db: DB_OPTION,
  },
  async run(args, ctx) {
    const reader = openTraceReader(dbPathOf(args, ctx));
    const q = reader.queries;
    try {
      const run = findRun(q, args.positionals[0] ?? "latest");
      const nodeArg = args.values["node"];
      const node = typeof nodeArg === "string" ? findNode(q, run, nodeArg) : fastestCorrect(q.listNodes(run.id));
      if (!node) throw new UserError(`run ${run.id} has no correct kernel to export`, { hint: `see what happened: kforge trace ${run.id}` });
      if (node.status !== "ok")
        throw new UserError(`node ${node.label} is not a correct kernel (${node.status})`, {
          hint: `export a correct one: kforge trace ${run.id} --correct`,
        });
      const kernel = q.kernel(node.id);
      const verify = q.verification(node.id);
      const verifiedAt = q.nodeDetail(node.id)?.verifications.at(-1)?.createdAt;
      if (kernel === null || verify?.status !== "ok" || verifiedAt === undefined)
        throw new UserError(`node ${node.label} has no kernel with a correct verification`);
      const outArg = args.values["out"];
      const path =
        typeof outArg === "string" && outArg !== "-" ? resolve(outArg) : outArg === "-" ? null : resolve(moduleFileName(run.problem, node.label));
      const moduleName = path ? basename(path).replace(/\.py$/, "") : moduleFileName(run.problem, node.label).replace(/\.py$/, "");
      const provenance: Provenance = {
        problem: run.problem,
        spec: problemOf(run),
        runId: run.id,
        nodeId: node.id,
        nodeLabel: node.label,
        title: node.title,
        verify,
        verifiedAt,
        exportedAt: Date.now(),
      };
      const text = renderKernelModule(kernel, provenance, moduleName);
      if (path === null) {
        // To the terminal (or a pipe) the module is inert text; `--out FILE` writes its exact bytes.
        ctx.stdout.write(ctx.json ? `${JSON.stringify({ ...summary(provenance), path: null, module: text }, null, 2)}\n` : inertText(text));
        return 0;
      }
      const created = writeModule(path, text);
      const note =
        (created ? `\n  created folder ${created}` : "") +
        (isModuleName(moduleName) ? "" : `\n  note: "${moduleName}" is not a Python module name; rename the file to import it`);
      emit(
        ctx,
        { ...summary(provenance), path, createdFolder: created ?? null },
        () => `wrote ${path}\n  node ${node.label}: ${node.title} — ${verify.speedup !== null ? `${verify.speedup.toFixed(2)}x` : "untimed"}${note}`,
      );
      return 0;
    } finally {
      reader.close();
    }
  },
};

/**
 * Writes the module at `path`, creating its missing parent folders as kforge's other `--out` options do
 * (bench/*). Returns the top folder it created, if any; a path it cannot write is the user's to fix.
 */
function writeModule(path: string, text: string): string | undefined {
  try {
    const created = mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return created;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "EACCES" || e.code === "EPERM"
        ? "permission denied"
        : e.code === "EISDIR"
          ? "it is a folder"
          : e.code === "ENOTDIR" || e.code === "EEXIST"
            ? "a part of its path is a file, not a folder"
            : e.message;
    throw new UserError(`cannot write ${path}: ${why}`, {
      hint: "pass --out a file path in a folder you can write (or `--out -` to print it)",
      cause: err,
    });
  }
}

/** The fastest correct node; on untimed problems (CPU test problems) the first correct one. */
function fastestCorrect(nodes: NodeRow[]): NodeRow | null {
  return bestNode(nodes) ?? nodes.find((n) => n.status === "ok") ?? null;
}

/** The run's problem as the search loaded it (its folder, else the suite's by name); null when it is gone. */
function problemOf(run: ReadRun): ProblemSpec | null {
  const folder = run.config["problemPath"];
  try {
    return loadProblem(typeof folder === "string" && existsSync(folder) ? folder : run.problem).spec;
  } catch {
    return null; // The module then says so and passes params through by name.
  }
}

function summary(p: Provenance): Record<string, unknown> {
  return {
    run: p.runId,
    node: p.nodeId,
    label: p.nodeLabel,
    problem: p.problem,
    speedup: p.verify.speedup,
    tflops: p.verify.tflops,
    gpu: p.verify.gpu ?? null,
  };
}
