/** `kforge workers ssh|stop|slurm`: start queue workers where the GPUs are (see README: Remote workers). */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, UserError } from "../../core/errors.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import { startSshWorkers, stopSshWorkers, type SshOptions } from "../../tools/queue/launch-ssh.ts";
import { slurmCancel, slurmStatus, submitSlurm } from "../../tools/queue/launch-slurm.ts";
import { emit, type Command, type ParsedArgs } from "../command.ts";

const str = (args: ParsedArgs, name: string): string | undefined =>
  typeof args.values[name] === "string" ? (args.values[name] as string) : undefined;

export const workersCommand: Command = {
  name: "workers",
  summary: "start or stop queue workers on GPU hosts: over SSH, or as a Slurm job array",
  usage: [
    "kforge workers ssh HOST... [--queue URL] [--dir DIR] [--kforge CMD] [--ssh CMD]",
    "       kforge workers stop [HOST...] [--ssh CMD]",
    "       kforge workers slurm --gpus N [--partition P] [--time T] [--dir DIR] [--queue URL] [--dry-run | --status | --cancel]",
  ].join("\n"),
  details: [
    "ssh: starts `DIR/kforge worker` in the background on each host (log in DIR/logs/); copy the portable bundle",
    "there first (npm run bundle; rsync -a dist/kforge-bundle/ HOST:kforge-bundle/). stop: SIGTERM to those started.",
    "slurm: writes a batch script (one array task per GPU, --gres=gpu:1) under KFORGE_HOME/workers/ and submits it",
    "with sbatch, passing KFORGE_QUEUE in its environment; --status shows the tasks (squeue), --cancel ends them.",
    "`kforge doctor` lists the workers that are alive.",
  ].join("\n"),
  options: {
    queue: { type: "string", valueName: "URL", description: "the queue the workers serve (default KFORGE_QUEUE)" },
    dir: { type: "string", valueName: "DIR", description: "the bundle's folder on the hosts (default kforge-bundle, in the login directory)" },
    kforge: { type: "string", valueName: "CMD", description: "the command that runs kforge in DIR (default ./kforge)" },
    ssh: { type: "string", valueName: "CMD", description: 'the ssh command and options (default "ssh -o BatchMode=yes")' },
    gpus: { type: "string", valueName: "N", description: "slurm: how many GPUs, one worker each" },
    partition: { type: "string", valueName: "P", description: "slurm: the partition" },
    time: { type: "string", valueName: "T", description: "slurm: the time limit, e.g. 4:00:00" },
    "dry-run": { type: "boolean", description: "slurm: write the batch script and print its path, submit nothing" },
    status: { type: "boolean", description: "slurm: the state of the submitted workers (squeue)" },
    cancel: { type: "boolean", description: "slurm: cancel the submitted workers (scancel)" },
  },
  async run(args, ctx) {
    const [action, ...hosts] = args.positionals;
    const home = ctx.config.home;
    const queue = () => {
      const url = str(args, "queue") ?? ctx.config.queue.url;
      if (!url) throw new ConfigError("no queue to serve", { hint: "pass --queue redis://[:PASSWORD@]HOST:PORT or set KFORGE_QUEUE" });
      parseQueueUrl(url); // a malformed URL fails here, not on every host
      return url;
    };
    const ssh: SshOptions = {
      ssh: (str(args, "ssh") ?? "ssh -o BatchMode=yes").split(/\s+/).filter(Boolean),
      dir: str(args, "dir") ?? "kforge-bundle",
      kforge: str(args, "kforge") ?? "./kforge",
    };
    if (action === "ssh") {
      if (hosts.length === 0)
        throw new UserError("`kforge workers ssh` needs at least one HOST", {
          hint: "kforge workers ssh gpu1 gpu2 --queue redis://:PASSWORD@login1:6379",
        });
      const started = await startSshWorkers(hosts, queue(), ssh, home);
      emit(ctx, started, () =>
        started.map((s) => `started worker ${s.id} on ${s.host} (pid ${s.pid}; log ${s.dir}/logs/worker-${s.id}.log)`).join("\n"),
      );
      return 0;
    }
    if (action === "stop") {
      const stopped = await stopSshWorkers(hosts, ssh, home);
      emit(ctx, stopped, () =>
        stopped.length
          ? stopped.map((s) => `stopped worker ${s.id} on ${s.host} (pid ${s.pid})`).join("\n")
          : "no workers started with `kforge workers ssh` to stop",
      );
      return 0;
    }
    if (action === "slurm") {
      if (args.values["status"] === true) {
        ctx.stdout.write(`${slurmStatus(home)}\n`);
        return 0;
      }
      if (args.values["cancel"] === true) {
        mkdirSync(join(home, "workers"), { recursive: true });
        const ids = slurmCancel(home);
        ctx.stdout.write(ids.length ? `cancelled ${ids.join(", ")}\n` : "no Slurm workers to cancel\n");
        return 0;
      }
      const gpus = Number(str(args, "gpus"));
      const time = str(args, "time");
      const partition = str(args, "partition");
      const req = {
        gpus,
        dir: str(args, "dir") ?? process.cwd(),
        kforge: ssh.kforge,
        ...(time ? { time } : {}),
        ...(partition ? { partition } : {}),
      };
      const dryRun = args.values["dry-run"] === true;
      const r = submitSlurm(req, home, dryRun ? "" : queue(), { dryRun });
      emit(ctx, r, () =>
        r.jobId ? `submitted Slurm job ${r.jobId} (${gpus} workers, one GPU each): ${r.script}` : `batch script written (not submitted): ${r.script}`,
      );
      return 0;
    }
    throw new UserError(`unknown action "${action ?? ""}"`, { hint: "kforge workers ssh HOST... | stop [HOST...] | slurm --gpus N" });
  },
};
