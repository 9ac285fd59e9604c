/**
 * `kforge workers ssh|stop|slurm` start real workers. There is no SSH server or Slurm here, so the edges are
 * replaced: the ssh command is a transport that runs the remote script on this machine (the script kforge sends
 * is what runs), and the Slurm batch script is run by bash with the variables Slurm sets for an array task.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKforge } from "../search/cli-process.ts";
import { ROOT, torchPython } from "../verifier/helpers.ts";
import { RedisServer } from "./redis-server.ts";

let redis: RedisServer;
let inspector: Redis;
const env = (home: string): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"],
  HOME: process.env["HOME"],
  KFORGE_HOME: home,
  KFORGE_PYTHON: torchPython(),
  NO_COLOR: "1",
  KFORGE_QUEUE_LEASE_S: "4",
});

async function until(what: string, cond: () => Promise<boolean>, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  redis = await RedisServer.start({ password: "launch-pass" });
  inspector = redis.client();
});
afterAll(async () => {
  inspector?.disconnect();
  await redis?.down();
});

describe("kforge workers", () => {
  it("ssh starts a worker on each host and stop ends them; the password travels on stdin, not in argv", async () => {
    const home = mkdtempSync(join(tmpdir(), "kforge-ssh-"));
    // The transport: `fake-ssh [-o OPT]... HOST SCRIPT` runs SCRIPT here, recording the argv it was given.
    const transport = join(home, "fake-ssh");
    writeFileSync(transport, `#!/bin/sh\necho "$@" >> "${home}/argv.log"\nwhile [ "$1" = "-o" ]; do shift 2; done\nshift\nexec sh -c "$1"\n`);
    chmodSync(transport, 0o755);
    const common = ["--ssh", `${transport} -o BatchMode=yes`, "--dir", home, "--kforge", `${process.execPath} ${join(ROOT, "bin", "kforge.js")}`];
    const started = await runKforge(["workers", "ssh", "gpu-a", "gpu-b", "--queue", redis.url, ...common, "--json"], env(home));
    expect(started.code, started.stderr).toBe(0);
    const list = JSON.parse(started.stdout) as Array<{ host: string; id: string; pid: number }>;
    expect(list.map((s) => [s.host, s.id])).toEqual([
      ["gpu-a", "gpu-a-ssh"],
      ["gpu-b", "gpu-b-ssh"],
    ]);
    await until("both workers' heartbeats", async () => (await inspector.exists("kforge:worker:gpu-a-ssh", "kforge:worker:gpu-b-ssh")) === 2);
    expect(readFileSync(join(home, "argv.log"), "utf8")).not.toContain("launch-pass");
    const stopped = await runKforge(["workers", "stop", ...common.slice(0, 2)], env(home));
    expect(stopped.stdout, stopped.stderr).toMatch(/stopped worker gpu-a-ssh on gpu-a[\s\S]*stopped worker gpu-b-ssh on gpu-b/);
    await until("the heartbeats gone", async () => (await inspector.exists("kforge:worker:gpu-a-ssh", "kforge:worker:gpu-b-ssh")) === 0, 20_000);
    for (const s of list) {
      await until(
        `pid ${s.pid} gone`,
        async () => {
          try {
            process.kill(s.pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        10_000,
      );
    }
  }, 90_000);

  it("slurm writes an array batch script (one GPU per task) that starts a worker as Slurm would run it", async () => {
    const home = mkdtempSync(join(tmpdir(), "kforge-slurm-"));
    const r = await runKforge(
      [
        "workers",
        "slurm",
        "--gpus",
        "4",
        "--partition",
        "gpu",
        "--time",
        "2:00:00",
        "--dir",
        home,
        "--kforge",
        `${process.execPath} ${join(ROOT, "bin", "kforge.js")}`,
        "--dry-run",
        "--json",
      ],
      env(home),
    );
    expect(r.code, r.stderr).toBe(0);
    const { script } = JSON.parse(r.stdout) as { script: string };
    const text = readFileSync(script, "utf8");
    for (const line of ["#SBATCH --array=0-3", "#SBATCH --gres=gpu:1", "#SBATCH --partition=gpu", "#SBATCH --time=2:00:00"])
      expect(text).toContain(line);
    expect(text).not.toContain("launch-pass");
    const bad = await runKforge(["workers", "slurm", "--gpus", "0", "--dry-run"], env(home));
    expect(bad.stderr).toMatch(/--gpus 0: expected a positive number/);

    const task = spawn("bash", [script], {
      env: { ...env(home), KFORGE_QUEUE: redis.url, SLURM_ARRAY_JOB_ID: "77", SLURM_ARRAY_TASK_ID: "2" },
      stdio: "ignore",
    });
    const id = `slurm-77_2-${hostname()}`;
    try {
      await until("the array task's worker", async () => (await inspector.exists(`kforge:worker:${id}`)) === 1, 60_000);
    } finally {
      task.kill("SIGTERM");
      await new Promise((res) => task.once("exit", res));
    }
  }, 120_000);
});
