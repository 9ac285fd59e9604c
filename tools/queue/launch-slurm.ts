/**
 * Workers as a Slurm job array: one array task per GPU (`--gres=gpu:1`), each running the bundle's
 * `kforge worker`. The batch script is written under KFORGE_HOME/workers/ and holds no secret: sbatch passes the
 * submitting environment (KFORGE_QUEUE with its password) to the tasks. Submitted jobs are recorded for
 * `kforge workers slurm --status` and `--cancel`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ToolError, UserError } from "../../core/errors.ts";

export interface SlurmRequest {
  gpus: number;
  partition?: string;
  /** Slurm's time limit, e.g. 4:00:00 or 1-00:00:00. */
  time?: string;
  /** The bundle's folder on the cluster's shared file system. */
  dir: string;
  /** The command that runs kforge there (default ./kforge). */
  kforge: string;
}

/** The batch script of the array. */
export function slurmScript(r: SlurmRequest): string {
  if (!Number.isInteger(r.gpus) || r.gpus < 1) throw new UserError(`--gpus ${r.gpus}: expected a positive number of GPUs (one worker each)`);
  if (r.time && !/^(\d+-)?\d+(:\d+){0,2}$/.test(r.time))
    throw new UserError(`--time ${r.time}: expected Slurm's form, e.g. 30, 4:00:00 or 1-00:00:00`);
  if (r.partition && !/^[\w.,-]+$/.test(r.partition)) throw new UserError(`--partition ${r.partition}: not a partition name`);
  return [
    "#!/bin/bash",
    "# kforge workers: one array task per GPU, each a `kforge worker` serving the queue in KFORGE_QUEUE (from sbatch's environment).",
    "#SBATCH --job-name=kforge-worker",
    `#SBATCH --array=0-${r.gpus - 1}`,
    "#SBATCH --gres=gpu:1",
    "#SBATCH --ntasks=1",
    ...(r.partition ? [`#SBATCH --partition=${r.partition}`] : []),
    ...(r.time ? [`#SBATCH --time=${r.time}`] : []),
    `#SBATCH --output=${r.dir}/logs/slurm-%A_%a.log`,
    "set -eu",
    `cd '${r.dir.replace(/'/g, `'\\''`)}'`,
    `: "\${KFORGE_QUEUE:?KFORGE_QUEUE is not set: submit with it in the environment}"`,
    `exec ${r.kforge} worker --id "slurm-\${SLURM_ARRAY_JOB_ID:-0}_\${SLURM_ARRAY_TASK_ID:-0}-$(uname -n)"`,
    "",
  ].join("\n");
}

/** Writes the script; submits it unless `dryRun`; returns its path and the job id. */
export function submitSlurm(
  r: SlurmRequest,
  home: string,
  queueUrl: string,
  opts: { dryRun?: boolean; sbatch?: string } = {},
): { script: string; jobId?: string } {
  const dir = join(home, "workers");
  mkdirSync(dir, { recursive: true });
  const script = join(dir, `slurm-${new Date().toISOString().replace(/[:.]/g, "-")}.sh`);
  writeFileSync(script, slurmScript(r), { mode: 0o700 });
  if (opts.dryRun) return { script };
  mkdirSync(join(r.dir, "logs"), { recursive: true });
  const out = spawnSync(opts.sbatch ?? "sbatch", ["--parsable", script], { encoding: "utf8", env: { ...process.env, KFORGE_QUEUE: queueUrl } });
  if (out.error) throw new ToolError(`sbatch: ${out.error.message}`, { hint: "run this on a Slurm login node (sbatch on PATH)" });
  if (out.status !== 0) throw new ToolError(`sbatch failed: ${out.stderr.trim().slice(-500)}`);
  const jobId = out.stdout.trim().split(";")[0] ?? "";
  writeFileSync(
    join(dir, "slurm.json"),
    `${JSON.stringify([...slurmJobs(home), { jobId, script, gpus: r.gpus, submittedAt: Date.now() }], null, 1)}\n`,
  );
  return { script, jobId };
}

/** Jobs submitted from this KFORGE_HOME. */
export function slurmJobs(home: string): Array<{ jobId: string; script: string; gpus: number; submittedAt: number }> {
  const f = join(home, "workers", "slurm.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Array<{ jobId: string; script: string; gpus: number; submittedAt: number }>) : [];
}

/** `squeue` lines of the recorded jobs (state and node of each array task). */
export function slurmStatus(home: string): string {
  const ids = slurmJobs(home).map((j) => j.jobId);
  if (ids.length === 0) return "no Slurm workers submitted from this KFORGE_HOME";
  const out = spawnSync("squeue", ["-h", "-j", ids.join(","), "-o", "%i %T %M %N"], { encoding: "utf8" });
  if (out.error || out.status !== 0) throw new ToolError(`squeue failed: ${out.error?.message ?? out.stderr.trim()}`);
  return out.stdout.trim() || `jobs ${ids.join(", ")}: no longer in the queue (finished or cancelled)`;
}

/** `scancel` of the recorded jobs. */
export function slurmCancel(home: string): string[] {
  const ids = slurmJobs(home).map((j) => j.jobId);
  if (ids.length) {
    const out = spawnSync("scancel", ids, { encoding: "utf8" });
    if (out.error || out.status !== 0) throw new ToolError(`scancel failed: ${out.error?.message ?? out.stderr.trim()}`);
  }
  writeFileSync(join(home, "workers", "slurm.json"), "[]\n");
  return ids;
}
