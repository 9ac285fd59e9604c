/** plan: the planner proposes ideas for the expansion's node; each becomes a child node (ids "<run>.<iteration>.<k>"). */
import type { GraphDeps } from "../deps.ts";
import type { PlannedChild, ExpansionStateUpdate, ExpansionStateValue } from "../state.ts";
import type { PlannedIdea } from "../../agents/types.ts";
import { ancestry, exemplarsFor, loadView } from "../view.ts";
import { traceQueries } from "../../memory/trace-queries.ts";

/** Plans the children of the selected node (reusing a plan recorded before a crash). */
export async function plan(state: ExpansionStateValue, deps: GraphDeps): Promise<ExpansionStateUpdate> {
  const { store, runId } = deps;
  const sel = state.selected;
  const iteration = state.iteration;
  // A plan recorded for this iteration means the process died after planning: reuse it, don't ask again.
  const cached = traceQueries(store.db).plan(runId, iteration);
  let ideas: PlannedIdea[];
  if (cached && cached.nodeId === sel.nodeId) {
    ideas = cached.plan.ideas;
  } else {
    const nodes = store.listNodes(runId);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const parent = loadView(store, sel.nodeId);
    const t = store.runTotals(runId);
    // The node budget's share select reserved for this expansion (others in flight hold theirs).
    const count = Math.max(1, Math.min(deps.options.branching, sel.quota));
    const exemplars = await exemplarsFor(deps);
    deps.progress.activity(`plan:${iteration}`, `planning ${count} idea(s) from ${parent.row.label} (${sel.mode})`);
    const outcome = await deps.agents.plan(
      {
        problem: deps.problem,
        parent,
        ancestry: ancestry(byId, sel.nodeId).slice(0, -1),
        tried: nodes.filter((n) => n.parentId === sel.nodeId),
        knownIdeas: () => nodes.map((n) => store.getIdea(n.id)),
        best: t.bestNode && t.bestNode !== sel.nodeId ? loadView(store, t.bestNode) : null,
        exemplars,
        count,
        mode: sel.mode,
      },
      { runId, nodeId: sel.nodeId, signal: deps.signal },
    );
    deps.progress.activity(`plan:${iteration}`, null);
    ideas = outcome.ideas.slice(0, count);
    store.atomically(() => {
      store.recordPlan(runId, sel.nodeId, iteration, {
        mode: sel.mode,
        reason: sel.reason,
        rationale: outcome.rationale,
        ideas,
        fallback: outcome.fallback ?? null,
      });
      if (outcome.fallback) store.recordEvent(runId, sel.nodeId, "planner_fallback", outcome.fallback);
      ideas.forEach((idea, k) => {
        const id = `${runId}.${iteration}.${k + 1}`;
        if (store.getNode(id)) return;
        store.upsertNode({
          id,
          runId,
          parentId: sel.nodeId,
          label: `${iteration}.${k + 1}`,
          depth: parent.row.depth + 1,
          iteration,
          title: idea.title,
          idea: idea.idea,
          status: "coding",
          origin: deps.agents.kind === "offline" ? "offline" : "llm",
        });
        // A model saw every exemplar in its prompt; an offline child starts from the wins it names, or none.
        const seeds = idea.seededBy
          ? idea.seededBy.map((wid) => ({
              e: exemplars.find((x) => x.id === wid),
              wid,
              note: "started from this win's config, adapted to this variant",
            }))
          : deps.agents.kind === "offline"
            ? []
            : exemplars.map((e) => ({ e, wid: e.id, note: "in the planner's prompt" }));
        seeds.forEach((s, rank) => {
          store.recordSeed(runId, id, {
            winId: s.wid,
            rank,
            score: s.e?.score ?? null,
            note: s.e ? `${s.note} (${s.e.problem}, ${s.e.speedup.toFixed(2)}x; ${s.e.why})` : s.note,
          });
        });
        if (seeds.length)
          deps.memory?.recordSeeding?.(
            runId,
            id,
            seeds.map((s) => s.wid),
          );
      });
    });
  }
  // Titles as stored (scrubbed of secrets): the checkpoint is written to the same file.
  const children: PlannedChild[] = ideas.map((idea, k) => {
    const nodeId = `${runId}.${iteration}.${k + 1}`;
    return { nodeId, index: k, title: store.getNode(nodeId)?.title ?? idea.title };
  });
  deps.progress.log(`iteration ${iteration}: expanding ${store.getNode(sel.nodeId)?.label} (${sel.reason}) into ${children.length}`);
  return { children };
}
