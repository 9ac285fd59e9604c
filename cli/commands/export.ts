/** `kforge export [RUN] [--node ID] [--out FILE]`: the best (or a chosen) correct kernel as a ready-to-import module. */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../../core/errors.ts";
import { loadProblem } from "../../problems/load.ts";
import { VerifyResult } from "../../tools/verifier/result.ts";
import { findNode, findRun, openTraceReader } from "../../memory/trace-reader.ts";
import { emit, type Command } from "../command.ts";
import { moduleFileName, renderKernelModule, type Provenance } from "../trace/kernel-module.ts";
import { bestNode } from "../trace/tree-text.ts";

export const exportCommand: Command = {
  name: "export",
  summary: "write a run's best (or a chosen) correct kernel as a Python module with its provenance",
  usage: "kforge export [RUN] [--node ID] [--out FILE]",
  details: "RUN is a run id, a unique prefix of one, or `latest` (the default). Without --out the module is written to\n./kforge_<problem>_<node>.py; `--out -` prints it.\nExample:\n  kforge export latest --out softcap_kernel.py && python -c 'import softcap_kernel'",
  options: {
    node: { type: "string", valueName: "ID", description: "export this node (label like 5.1, or full id) instead of the fastest correct one" },
    out: { type: "string", valueName: "FILE", description: "where to write the module (`-` for stdout)" },
    db: { type: "string", valueName: "PATH", description: "the kforge database (default: $KFORGE_DB or ~/.kforge/kforge.sqlite)" },
  },
  async run(args, ctx) {
    const reader = openTraceReader(typeof args.values["db"] === "string" ? args.values["db"] : ctx.config.dbPath);
    const q = reader.queries;
    try {
      const run = findRun(q, args.positionals[0] ?? "latest");
      const nodeArg = args.values["node"];
      const node = typeof nodeArg === "string" ? findNode(q, run, nodeArg) : bestNode(q.listNodes(run.id));
      if (!node) throw new UserError(`run ${run.id} has no correct kernel to export`, { hint: `see what happened: kforge trace ${run.id}` });
      if (node.status !== "ok") throw new UserError(`node ${node.label} is not a correct kernel (${node.status})`, { hint: `export a correct one: kforge trace ${run.id} --correct` });
      const detail = q.nodeDetail(node.id)!;
      const last = detail.verifications[detail.verifications.length - 1];
      const parsed = last ? VerifyResult.safeParse(last.result) : null;
      if (!detail.kernel || !last || !parsed?.success || parsed.data.status !== "ok") throw new UserError(`node ${node.label} has no kernel with a readable verification`);
      let problemDescription: string | null = null;
      let params: Record<string, unknown> = {};
      let baseline: string | null = null;
      try {
        const p = loadProblem(run.problem);
        problemDescription = p.spec.description;
        params = p.spec.params;
        baseline = p.spec.baseline;
      } catch {
        // A problem defined outside the suite: the header just names it.
      }
      const provenance: Provenance = { problem: run.problem, problemDescription, params, baseline, runId: run.id, nodeId: node.id, nodeLabel: node.label, title: node.title, verify: parsed.data, verifiedAt: last.createdAt, exportedAt: Date.now() };
      const text = renderKernelModule(detail.kernel, provenance);
      const outArg = args.values["out"];
      if (outArg === "-") {
        ctx.stdout.write(ctx.json ? `${JSON.stringify({ ...summary(provenance), path: null, module: text }, null, 2)}\n` : text);
        return 0;
      }
      const path = resolve(typeof outArg === "string" ? outArg : moduleFileName(run.problem, node.label));
      writeFileSync(path, text);
      emit(ctx, { ...summary(provenance), path }, () => `wrote ${path}\n  node ${node.label}: ${node.title} — ${parsed.data.status === "ok" && parsed.data.speedup !== null ? `${parsed.data.speedup.toFixed(2)}x` : "untimed"}`);
      return 0;
    } finally {
      reader.close();
    }
  },
};

function summary(p: Provenance): Record<string, unknown> {
  return { run: p.runId, node: p.nodeId, label: p.nodeLabel, problem: p.problem, speedup: p.verify.speedup, tflops: p.verify.tflops, gpu: p.verify.gpu ?? null };
}
