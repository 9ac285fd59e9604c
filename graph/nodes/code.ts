/** code: one task per idea (a Send), in parallel: the coder writes the child's kernel into the store. */
import type { GraphDeps } from "../deps.ts";
import type { NodeStatus } from "../../memory/trace-types.ts";
import type { BatchEntry, ExpansionStateUpdate, ExpansionStateValue } from "../state.ts";
import { exemplarsFor, loadView } from "../view.ts";

/** Writes the kernel of one planned child (idempotent: a child already coded or failed is reported, not redone). */
export async function code(state: ExpansionStateValue, deps: GraphDeps): Promise<ExpansionStateUpdate> {
  const { store, runId } = deps;
  const task = state.task;
  if (!task) throw new Error("code ran without a task");
  const node = store.getNode(task.nodeId);
  if (!node) throw new Error(`code: no node ${task.nodeId} in the trace`);
  // Done before a crash (the kernel or the failure is stored): report it, don't call the model again.
  if (node.status !== "coding") return { batch: { [node.id]: entry(node.status, node.speedup, node.summary) } };
  deps.progress.activity(node.id, `coding ${node.label}: ${node.title}`);
  try {
    const outcome = await deps.agents.code(
      {
        problem: deps.problem,
        parent: loadView(store, state.selected.nodeId),
        idea: { title: node.title, idea: store.getIdea(node.id) },
        index: task.index,
        exemplars: await exemplarsFor(deps),
        mode: state.selected.mode,
      },
      { runId, nodeId: node.id, signal: deps.signal },
    );
    if (outcome.status === "ok") {
      store.setNodeKernel(runId, node.id, outcome.source, outcome.origin);
      return { batch: { [node.id]: entry("coded", null, "") } };
    }
    store.setNodeStatus(runId, node.id, outcome.status, outcome.reason);
    deps.progress.log(`${node.label}: ${outcome.status}: ${outcome.reason.split("\n")[0]}`);
    // The reason as stored (scrubbed of secrets): the checkpoint is written to the same file.
    return { batch: { [node.id]: entry(outcome.status, null, store.getNode(node.id)!.summary) } };
  } finally {
    deps.progress.activity(node.id, null);
  }
}

function entry(status: NodeStatus, speedup: number | null, summary: string): BatchEntry {
  return { status, speedup, summary: summary.slice(0, 300) };
}
