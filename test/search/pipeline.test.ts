/**
 * The pipeline in-process: the scripted model server with delayed replies, the real agents, graph,
 * checkpointer and trace store, and a verifier with a fixed verification time behind the lanes meter.
 * Several expansions run at once and overlap (seen in the activity timestamps); the node budget is
 * never passed; an interrupt with several expansions in flight resumes with nothing redone or lost.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { loadProblem } from "../../problems/load.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import type { Progress } from "../../graph/deps.ts";
import type { VerifyRequest } from "../../tools/verifier/types.ts";
import { kernelModel } from "./script.ts";
import { searchSetup, tempDb } from "./helpers.ts";

const problem = loadProblem("softcap");
const FATES = ["ok 1.2", "compile_error", "ok 1.4", "wrong_output 2", "ok 0.9", "ok 1.6"];

/** The instant verifier's verdicts after a fixed time (a lane's work). */
class TimedVerifier extends InstantVerifier {
  constructor(private readonly ms: number) {
    super();
  }
  override async verify(req: VerifyRequest) {
    await sleep(this.ms, undefined, { signal: req.signal });
    return super.verify(req);
  }
}

interface Span {
  iteration: number;
  what: string;
  start: number;
  end: number;
}

/** A progress sink that keeps every activity as a timed span, by expansion (iteration). */
function spanRecorder(runId: () => string): Progress & { spans: Span[]; concurrent: number; peak: number; now(): Omit<Span, "end">[] } {
  const open = new Map<string, Omit<Span, "end">>();
  const rec = {
    now: () => [...open.values()],
    spans: [] as Span[],
    concurrent: 0,
    peak: 0,
    activity(key: string, text: string | null) {
      if (text) {
        // keys: "plan:N", "critique:N", or a node id "<run>.N.k"
        const iteration = Number(/^(?:plan|critique):(\d+)$/.exec(key)?.[1] ?? key.slice(runId().length + 1).split(".")[0]);
        open.set(key, { iteration, what: text.split(" ")[0]!, start: performance.now() });
      } else {
        const s = open.get(key);
        open.delete(key);
        if (s) rec.spans.push({ ...s, end: performance.now() });
      }
      const its = new Set([...open.values()].map((s) => s.iteration));
      rec.concurrent = its.size;
      rec.peak = Math.max(rec.peak, its.size);
    },
    log() {},
  };
  return rec;
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

describe("pipeline (several expansions in flight)", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  beforeEach(async () => {
    server = await startScriptedServer(kernelModel({ fates: FATES, sequential: true, delayMs: 60 }));
    t = tempDb();
  });
  afterEach(async () => {
    await server.close();
    t.cleanup();
  });

  function start(
    limits: { wallMs: number; maxNodes: number },
    options: { branching: number; inflight: number | "auto" },
    verifier = new TimedVerifier(40),
    lanes = 2,
  ) {
    let runId = "";
    const progress = spanRecorder(() => runId);
    const setup = { ...searchSetup({ db: t.db, store: t.store, problem, verifier, baseUrl: server.baseUrl, limits, options }), progress, lanes };
    runId = newRunId();
    createRun(t.store, { runId, problem: problem.spec.name, limits, options: setup.options, config: {} });
    return { runId, setup, verifier, progress };
  }

  it("runs expansions of distinct nodes at once: coders, verification and critiques of different expansions overlap", async () => {
    const { runId, setup, verifier, progress } = start({ wallMs: 60_000, maxNodes: 16 }, { branching: 2, inflight: 3 });
    const summary = await driveRun(runId, setup);
    expect(summary).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 16 });
    expect(summary.pipeline).toMatchObject({ lanes: 2, peakInflight: 3, inflightTarget: 3 });
    expect(summary.pipeline!.utilisation).toBeGreaterThan(0);
    expect(progress.peak).toBeGreaterThanOrEqual(2);
    // Per expansion, its span from first to last activity; some pairs overlap in time.
    const byIt = new Map<number, { start: number; end: number }>();
    for (const s of progress.spans) {
      const e = byIt.get(s.iteration) ?? { start: s.start, end: s.end };
      byIt.set(s.iteration, { start: Math.min(e.start, s.start), end: Math.max(e.end, s.end) });
    }
    const its = [...byIt.entries()];
    const overlapping = its.flatMap(([i, a]) => its.filter(([j, b]) => i < j && overlaps(a, b)));
    expect(overlapping.length).toBeGreaterThan(0);
    // A candidate of one expansion is verified while another expansion's model calls (plan, code, critique) run.
    const verifying = progress.spans.filter((s) => s.what === "verifying");
    const modelWork = progress.spans.filter((s) => ["planning", "coding", "critiquing"].includes(s.what));
    expect(verifying.some((v) => modelWork.some((m) => m.iteration !== v.iteration && overlaps(v, m)))).toBe(true);
    // The expansions in flight worked from distinct nodes: no node is the parent of two plans running at once.
    const plans = t.db.prepare("SELECT node_id, iteration FROM trace_plans WHERE run_id = ?").all(runId) as { node_id: string; iteration: number }[];
    for (const p of plans) {
      for (const q of plans) {
        if (p.iteration < q.iteration && p.node_id === q.node_id)
          expect(overlaps(byIt.get(p.iteration)!, byIt.get(q.iteration)!), `${p.node_id} in ${p.iteration} and ${q.iteration}`).toBe(false);
      }
    }
    // Every kernel verified once, every node critiqued once.
    const nodes = t.store.listNodes(runId).filter((n) => n.parentId);
    expect(verifier.sources).toHaveLength(nodes.filter((n) => n.hasKernel).length);
    for (const n of nodes) expect(t.store.getCritique(n.id), n.label).not.toBeNull();
  });

  it("counts its lanes again while it runs: workers that join later get work (a lanes event, the summary's lanes)", async () => {
    const verifier = new TimedVerifier(40);
    let concurrent = 0;
    let peak = 0;
    const counting = Object.assign(Object.create(verifier) as TimedVerifier, {
      async verify(req: VerifyRequest) {
        peak = Math.max(peak, ++concurrent);
        try {
          return await verifier.verify(req);
        } finally {
          concurrent--;
        }
      },
    });
    const { runId, setup } = start({ wallMs: 60_000, maxNodes: 16 }, { branching: 4, inflight: 4 }, counting, 1);
    let counted = 0;
    const summary = await driveRun(runId, { ...setup, laneRefreshMs: 50, countLanes: async () => (++counted >= 2 ? 3 : 1) });
    expect(summary).toMatchObject({ status: "done", nodes: 16 });
    expect(summary.pipeline).toMatchObject({ lanes: 3 });
    expect(peak).toBeGreaterThan(1); // with the one lane it started with, never more than one at once
    expect(peak).toBeLessThanOrEqual(3);
    expect(
      t.store
        .eventsSince(runId)
        .filter((e) => e.kind === "lanes")
        .map((e) => e.message),
    ).toEqual(["verification lanes: 1 → 3"]);
  });

  it("never passes --max-nodes with several expansions in flight", async () => {
    for (const [maxNodes, branching, inflight] of [
      [5, 3, 4],
      [10, 3, 4],
      [13, 4, 6],
    ] as const) {
      const { runId, setup } = start({ wallMs: 60_000, maxNodes }, { branching, inflight }, new TimedVerifier(5), 4);
      const summary = await driveRun(runId, setup);
      expect(summary, `max ${maxNodes}`).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: maxNodes });
      expect(t.store.listNodes(runId).filter((n) => n.parentId)).toHaveLength(maxNodes);
    }
  });

  it("an interrupt with several expansions in flight resumes from each one's checkpoint: nothing redone, nothing lost", async () => {
    const controller = new AbortController();
    const first = start({ wallMs: 60_000, maxNodes: 18 }, { branching: 3, inflight: 3 });
    const setup = { ...first.setup, signal: controller.signal };
    // Interrupt as soon as candidates of two expansions are being written or verified at once.
    const progress = first.progress;
    const activity = progress.activity.bind(progress);
    progress.activity = (key, text) => {
      activity(key, text);
      const busy = progress.now().filter((s) => s.what === "coding" || s.what === "verifying");
      if (new Set(busy.map((s) => s.iteration)).size >= 2) controller.abort();
    };
    const stopped = await driveRun(first.runId, setup);
    expect(stopped.status).toBe("interrupted");
    const open = t.store.listNodes(first.runId).filter((n) => n.status === "coding" || n.status === "coded");
    expect(new Set(open.map((n) => n.iteration)).size).toBeGreaterThanOrEqual(2); // several expansions were cut mid-way
    // Model calls of the kernels written before the interrupt: a resume must not make them again.
    const calls = (id: string) =>
      (t.db.prepare("SELECT COUNT(*) AS n FROM trace_llm_calls WHERE node_id = ? AND role = 'coder'").get(id) as { n: number }).n;
    const written = t.store.listNodes(first.runId).filter((n) => n.hasKernel);
    expect(written.length).toBeGreaterThan(0);
    const callsBefore = new Map(written.map((n) => [n.id, calls(n.id)]));

    const again = await driveRun(first.runId, { ...first.setup, signal: new AbortController().signal });
    expect(again).toMatchObject({ status: "done", stopReason: "budget:nodes", nodes: 18 });
    const nodes = t.store.listNodes(first.runId).filter((n) => n.parentId);
    expect(nodes.filter((n) => n.status === "coding" || n.status === "coded")).toEqual([]);
    // Each kernel verified once across the interrupt, each node critiqued once; no kernel written twice.
    expect(first.verifier.sources).toHaveLength(nodes.filter((n) => n.hasKernel).length);
    for (const n of nodes)
      expect((t.db.prepare("SELECT COUNT(*) AS n FROM trace_critiques WHERE node_id = ?").get(n.id) as { n: number }).n, n.label).toBe(1);
    for (const [id, before] of callsBefore) expect(calls(id), id).toBe(before);
    const plans = t.db.prepare("SELECT iteration FROM trace_plans WHERE run_id = ? ORDER BY iteration").all(first.runId) as { iteration: number }[];
    expect(plans.map((p) => p.iteration)).toEqual(plans.map((_, i) => i + 1));
  });
});
