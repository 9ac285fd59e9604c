/**
 * Starting and stopping workers over SSH: on each host, `KFORGE_DIR/kforge worker` runs in the background (nohup,
 * its log under KFORGE_DIR/logs), the queue URL passed on stdin so its password never shows in a process list.
 * Started workers are recorded in KFORGE_HOME/workers/ssh.json, which `stop` reads.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ToolError } from "../../core/errors.ts";

export interface SshOptions {
  /** The ssh command and its options, e.g. ["ssh", "-o", "BatchMode=yes"]. */
  ssh: string[];
  /** The bundle's folder on the hosts (relative to the login directory, or absolute). */
  dir: string;
  /** The command that runs kforge there (default ./kforge, the bundle's launcher). */
  kforge: string;
}

const Started = z.array(z.object({ host: z.string(), id: z.string(), pid: z.number().int(), dir: z.string(), startedAt: z.number() }));
export type Started = z.infer<typeof Started>;

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `script` on `host` through ssh, with `stdin` as its standard input; resolves with its stdout. */
function onHost(opts: SshOptions, host: string, script: string, stdin = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = opts.ssh;
    const child = spawn(cmd as string, [...args, host, script], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new ToolError(`${cmd}: ${e.message}`)));
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new ToolError(`${host}: ${cmd} exited with ${code}: ${err.trim().slice(-500)}`)),
    );
    child.stdin.on("error", () => {}); // a script that does not read its stdin may exit first; its exit code says how it went
    child.stdin.end(stdin);
  });
}

/** Starts one worker per host; returns what was started (also recorded under `home`). */
export async function startSshWorkers(hosts: string[], queueUrl: string, opts: SshOptions, home: string): Promise<Started> {
  const started: Started = [];
  for (const host of hosts) {
    const id = `${host.replace(/^.*@/, "").replace(/[^\w.-]/g, "_")}-ssh`;
    const script = [
      "read -r KFORGE_QUEUE && export KFORGE_QUEUE",
      `cd ${quote(opts.dir)} || { echo "no folder ${opts.dir} on $(uname -n): copy the bundle there first" >&2; exit 3; }`,
      "mkdir -p logs",
      `nohup ${opts.kforge} worker --id ${quote(id)} >> logs/worker-${id}.log 2>&1 < /dev/null &`,
      'echo "pid $!"',
    ].join("\n");
    const out = await onHost(opts, host, script, `${queueUrl}\n`);
    const pid = Number(/pid (\d+)/.exec(out)?.[1]);
    if (!pid) throw new ToolError(`${host}: the worker did not start (${out.trim().slice(-300)})`);
    started.push({ host, id, pid, dir: opts.dir, startedAt: Date.now() });
  }
  record(home, [...recorded(home).filter((s) => !started.some((n) => n.host === s.host)), ...started]);
  return started;
}

/** Stops the recorded workers of `hosts` (all when empty) with SIGTERM: each finishes cleanly and leaves the queue. */
export async function stopSshWorkers(hosts: string[], opts: SshOptions, home: string): Promise<Started> {
  const all = recorded(home);
  const chosen = all.filter((s) => hosts.length === 0 || hosts.includes(s.host));
  for (const s of chosen) await onHost(opts, s.host, `kill -TERM ${s.pid} 2>/dev/null || true`);
  record(
    home,
    all.filter((s) => !chosen.includes(s)),
  );
  return chosen;
}

function file(home: string): string {
  return join(home, "workers", "ssh.json");
}

export function recorded(home: string): Started {
  if (!existsSync(file(home))) return [];
  const parsed = Started.safeParse(JSON.parse(readFileSync(file(home), "utf8")));
  return parsed.success ? parsed.data : [];
}

function record(home: string, list: Started): void {
  mkdirSync(join(home, "workers"), { recursive: true });
  writeFileSync(file(home), `${JSON.stringify(list, null, 1)}\n`);
}
