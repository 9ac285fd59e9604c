/** How many candidates the local verifier pool verifies at once: what the search's lanes meter admits. */
import type { Config } from "../../core/config.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { probePython } from "../../tools/verifier/python-env.ts";

/** One lane for a CPU problem, else one per GPU: KFORGE_GPUS, or every GPU the verifier's Python sees (the pool's own rule). */
export async function verificationLanes(config: Config, problem: LoadedProblem): Promise<number> {
  if ((problem.spec as { device?: string }).device === "cpu") return 1;
  if (config.gpus?.length) return config.gpus.length;
  // Cached per interpreter: the pool asks the same question when it starts its lanes.
  const probe = await probePython(config.python);
  return "error" in probe ? 1 : Math.max(1, probe.gpus?.length ?? 0);
}
