/** `kforge worker --queue redis://HOST:PORT`: serve a search's verification jobs on this host's GPUs, one sandboxed lane per GPU. */
import { ConfigError } from "../../core/errors.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import { checkQueue } from "../../tools/queue/open.ts";
import { QueueWorker } from "../../tools/queue/worker.ts";
import { requireSandbox } from "../../tools/sandbox/sandbox.ts";
import type { Command } from "../command.ts";

export const workerCommand: Command = {
  name: "worker",
  summary: "serve verification jobs from a Redis queue on this host's GPUs (remote lanes of a search)",
  usage: "kforge worker --queue redis://[:PASSWORD@]HOST:PORT [--id NAME]",
  details: [
    "Runs until Ctrl-C / SIGTERM: takes jobs from the queue's streams, one sandboxed lane per GPU (KFORGE_GPUS picks",
    "them), and sends each result back to the search that issued it. A worker that dies or goes silent for",
    "KFORGE_QUEUE_LEASE_S loses its jobs to other workers. `kforge doctor` lists the workers of KFORGE_QUEUE.",
    "",
    "examples:",
    "  ./kforge worker --queue redis://:secret@login1:6379      # from the portable bundle, on a GPU node",
    "  KFORGE_QUEUE=rediss://:secret@queue.example:6380 KFORGE_QUEUE_TLS_CA=ca.pem kforge worker",
  ].join("\n"),
  options: {
    queue: { type: "string", valueName: "URL", description: "the queue's Redis (default KFORGE_QUEUE)" },
    id: { type: "string", valueName: "NAME", description: "this worker's name in results and `kforge doctor` (default HOST-PID)" },
  },
  async run(args, ctx) {
    const url = typeof args.values["queue"] === "string" ? args.values["queue"] : ctx.config.queue.url;
    if (!url) throw new ConfigError("`kforge worker` needs a queue", { hint: "kforge worker --queue redis://HOST:PORT (or set KFORGE_QUEUE)" });
    const addr = parseQueueUrl(url, ctx.config.queue.tlsCa);
    await requireSandbox(ctx.config.python, ctx.config.unsafeNoSandbox); // candidates never run unconfined, here either
    await checkQueue(addr);
    const id = typeof args.values["id"] === "string" ? args.values["id"] : undefined;
    const worker = new QueueWorker(ctx.config, addr, {
      ...(id ? { id } : {}),
      leaseMs: ctx.config.queue.leaseMs,
      log: (l) => ctx.stderr.write(`${l}\n`),
    });
    const info = await worker.start();
    const lanes = [info.lanes.cuda ? `${info.lanes.cuda} GPU lane(s): ${info.gpus.join(", ")}` : "", info.lanes.cpu ? "the CPU lane" : ""]
      .filter(Boolean)
      .join(" and ");
    ctx.stdout.write(`worker ${worker.id} serving ${addr.shown} with ${lanes}\n`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await worker.stop();
    ctx.stdout.write(`worker ${worker.id} stopped\n`);
    return 0;
  },
};
