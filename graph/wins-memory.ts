/** The memory of wins (memory/wins.ts, memory/seed.ts) behind the graph's small `WinsMemory` interface. */
import type { DB } from "../memory/db.ts";
import { WinsStore } from "../memory/wins.ts";
import { queryFromProblem, seedExemplars } from "../memory/seed.ts";
import { explainScore } from "../memory/retrieve.ts";
import type { Exemplar } from "../agents/types.ts";
import type { WinsMemory } from "./deps.ts";
import type { Feature } from "../memory/features.ts";
import { kernelBenchOf } from "../problems/kernelbench/kind.ts";

/** A `WinsMemory` over the kforge database (the same file as the trace). */
export function openWinsMemory(db: DB): WinsMemory {
  const wins = new WinsStore(db).setup();
  return {
    retrieve(problem, opts): Exemplar[] {
      return seedExemplars(db, queryFromProblem(problem), { k: opts.k, ...(opts.gpu ? { gpu: opts.gpu } : {}) }).map((e) => ({
        id: String(e.win.id),
        problem: e.win.problem,
        speedup: e.win.speedup,
        tflops: e.win.tflops,
        gpu: e.win.gpu,
        keyIdeas: e.win.ideas,
        source: e.win.kernelSource,
        why: explainScore(e.score),
        shared: e.score.matched,
        score: e.score.total,
      }));
    },
    remember(w) {
      const q = queryFromProblem(w.problem);
      // A KernelBench problem has no attention tags, params or shapes: its query holds its operator families as tags.
      const kb = kernelBenchOf(w.problem) !== null;
      return wins.remember({
        problem: w.problem.spec.name,
        description: w.problem.spec.description,
        scoreMod: q.scoreMod ?? null,
        maskMod: q.maskMod ?? null,
        tags: kb ? (q.tags as Feature[]) : w.problem.spec.tags,
        params: kb ? {} : w.problem.spec.params,
        kernelSource: w.source,
        speedup: w.speedup,
        tflops: w.tflops,
        shapes: kb ? [] : w.problem.spec.shapes.benchmark,
        gpu: w.gpu ?? "unknown",
        ideas: w.keyIdeas,
        runId: w.runId,
        nodeId: w.nodeId,
      });
    },
    recordSeeding(runId, nodeId, winIds) {
      wins.recordSeeding(runId, nodeId, winIds.map(Number));
    },
  };
}
