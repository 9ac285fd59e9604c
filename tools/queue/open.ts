/**
 * The search's verifier when a queue is configured: remote workers and this machine's own lanes alike pull jobs
 * from the same streams (this machine's through an in-process worker over a local pool), so whichever lane is
 * free takes the next candidate.
 */
import type { Config } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { createVerifierPool } from "../verifier/pool.ts";
import type { Verifier } from "../verifier/types.ts";
import { connectQueue, describeRedisError, parseQueueUrl, type QueueAddress } from "./connect.ts";
import { RemoteVerifier } from "./remote-verifier.ts";
import { QueueWorker } from "./worker.ts";

/** Fails fast, with what to fix, when the queue cannot be reached (a search must not wait on a typo). */
export async function checkQueue(addr: QueueAddress): Promise<void> {
  const probe = connectQueue(addr, { failFast: true, name: "kforge-check" });
  try {
    await probe.ping();
  } catch (err) {
    throw new ConfigError(`the job queue is not reachable: ${describeRedisError(err, addr, probe)}`, {
      hint: "start Redis there, check the host, port and password (redis://:PASSWORD@HOST:PORT), or drop --queue / KFORGE_QUEUE",
    });
  } finally {
    probe.disconnect();
  }
}

/** A Verifier over the queue at `url`: remote workers, plus this machine's lanes unless KFORGE_QUEUE_LOCAL=0. */
export async function openQueueVerifier(
  config: Config,
  url: string,
  problem: LoadedProblem,
  log?: (line: string) => void,
): Promise<Verifier & { remote: RemoteVerifier }> {
  const addr = parseQueueUrl(url, config.queue.tlsCa);
  await checkQueue(addr);
  const remote = new RemoteVerifier(addr, { leaseMs: config.queue.leaseMs, ...(log ? { log } : {}) });
  let local: QueueWorker | undefined;
  let pool: ReturnType<typeof createVerifierPool> | undefined;
  if (config.queue.localLanes) {
    pool = createVerifierPool(config, { problem });
    local = new QueueWorker(config, addr, { id: `${remote.id}-local`, leaseMs: config.queue.leaseMs, pool, devices: [problem.spec.device] });
    await local.start();
  }
  return {
    remote,
    verify: (req) => remote.verify(req),
    measureBaseline: (p, signal) => remote.measureBaseline(p, signal),
    close: async () => {
      await local?.stop();
      await pool?.close();
      await remote.close();
    },
  };
}
