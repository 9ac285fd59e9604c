/** How many candidates the local verifier pool verifies at once: what the search's lanes meter admits. */
import type { Config } from "../../core/config.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { probePython } from "../../tools/verifier/python-env.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import { queueLanes } from "../../tools/queue/status.ts";

/** One lane for a CPU problem, else one per GPU: KFORGE_GPUS, or every GPU the verifier's Python sees (the pool's own rule). */
export async function verificationLanes(config: Config, problem: LoadedProblem): Promise<number> {
  if (config.queue.url) {
    // With a queue: the live workers' lanes (counted at the start), plus this machine's when they serve it too.
    const device = (problem.spec as { device?: string }).device === "cpu" ? "cpu" : "cuda";
    const remote = await queueLanes(parseQueueUrl(config.queue.url, config.queue.tlsCa), device);
    const local = config.queue.localLanes ? await verificationLanes({ ...config, queue: { ...config.queue, url: undefined } }, problem) : 0;
    return Math.max(1, remote + local);
  }
  if ((problem.spec as { device?: string }).device === "cpu") return 1;
  if (config.gpus?.length) return config.gpus.length;
  // Cached per interpreter: the pool asks the same question when it starts its lanes.
  const probe = await probePython(config.python);
  return "error" in probe ? 1 : Math.max(1, probe.gpus?.length ?? 0);
}
