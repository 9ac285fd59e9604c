/** `kforge doctor`: is this machine ready? One line per dependency: ok / missing / warn, and what to do. */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../../core/config.ts";
import { probePython, type PythonProbe } from "../../tools/verifier/python-env.ts";
import { probeSandbox } from "../../tools/sandbox/sandbox.ts";
import { emit, type Command } from "../command.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import type { WorkerInfo } from "../../tools/queue/protocol.ts";
import { describeWorker, queueStatus } from "../../tools/queue/status.ts";

interface Check {
  name: string;
  status: "ok" | "missing" | "warn";
  detail: string;
  hint?: string;
  /** Without it nothing can be verified. */
  required?: boolean;
  /** A queue worker's heartbeat as it sent it (--json). */
  worker?: WorkerInfo;
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check this machine: python, torch, triton, GPU, ncu, the OS sandbox (each layer), database",
  usage: "kforge doctor [--queue redis://HOST:PORT]",
  details: "Exit code 0 when kforge can verify kernels here (Python with torch); missing optional parts are listed with what to do.",
  options: {
    queue: { type: "string", valueName: "URL", description: "also check this job queue and its workers (default KFORGE_QUEUE)" },
  },
  async run(args, ctx) {
    const url = typeof args.values["queue"] === "string" ? args.values["queue"] : ctx.config.queue.url;
    const checks = [...(await runChecks(ctx.config)), ...(url ? await queueChecks(url, ctx.config.queue.tlsCa) : [])];
    emit(ctx, checks, () => {
      const w = Math.max(...checks.map((c) => c.name.length));
      return checks
        .map(
          (c) => `${c.status.padEnd(7)} ${c.name.padEnd(w)}  ${c.detail}${c.hint && c.status !== "ok" ? `\n${" ".repeat(w + 10)}-> ${c.hint}` : ""}`,
        )
        .join("\n");
    });
    return checks.some((c) => c.required && c.status === "missing") ? 1 : 0;
  },
};

async function runChecks(config: Config): Promise<Check[]> {
  const major = Number(process.versions.node.split(".")[0]);
  const checks: Check[] = [
    {
      name: "node",
      status: major >= 20 && major < 23 ? "ok" : "warn",
      detail: `v${process.versions.node}`,
      hint: "kforge pins its stack for Node 20-22",
    },
  ];
  const probe = await probePython(config.python);
  if ("error" in probe) {
    checks.push({ name: "python", status: "missing", detail: probe.error, hint: await betterPython(config.python), required: true });
  } else {
    checks.push(
      { name: "python", status: "ok", detail: `Python ${probe.python} (${probe.executable})` },
      ...torchChecks(probe, await betterPython(config.python)),
    );
  }
  const ncu = spawnSync(config.ncu, ["--version"], { encoding: "utf8", timeout: 20_000 });
  checks.push(
    ncu.status === 0
      ? { name: "ncu", status: "ok", detail: (ncu.stdout.trim().split("\n").pop() ?? "").trim() }
      : {
          name: "ncu",
          status: "warn",
          detail: `${config.ncu} not runnable`,
          hint: "install Nsight Compute or set KFORGE_NCU; without it candidates are not profiled",
        },
  );
  checks.push(...(await sandboxChecks(config)));
  checks.push(dbCheck(config.dbPath));
  return checks;
}

/** One line per sandbox layer, each observed from inside a real sandbox (tools/sandbox/probe.py). */
async function sandboxChecks(config: Config): Promise<Check[]> {
  const probe = await probeSandbox(config.python);
  if (!probe.ok && Object.keys(probe.layers).length === 0) {
    return [
      {
        name: "sandbox",
        status: config.unsafeNoSandbox ? "warn" : "missing",
        required: !config.unsafeNoSandbox,
        detail: probe.error ?? "cannot be built here",
        hint: config.unsafeNoSandbox
          ? "KFORGE_UNSAFE_NO_SANDBOX=1: candidates run UNCONFINED"
          : "run as root or enable unprivileged user namespaces; kforge refuses to run candidates without it (KFORGE_UNSAFE_NO_SANDBOX=1 overrides, unsafely)",
      },
    ];
  }
  const layers = Object.entries(probe.layers).map(
    ([layer, ok]): Check => ({
      name: `sandbox: ${layer.replace(/_/g, " ")}`,
      status: ok ? "ok" : "missing",
      detail: ok ? `active (${probe.mode === "root" ? "root, then an unprivileged uid" : "user namespace"})` : "not in effect",
      required: !config.unsafeNoSandbox,
      hint: "kforge refuses to run candidates until every layer holds (KFORGE_UNSAFE_NO_SANDBOX=1 overrides, unsafely)",
    }),
  );
  return layers;
}

/** The queue (reachable, jobs waiting and running) and one line per live worker (host, GPUs, versions, sandbox, heartbeat). */
async function queueChecks(url: string, tlsCa: string | undefined): Promise<Check[]> {
  const q = await queueStatus(parseQueueUrl(url, tlsCa));
  if (!q.reachable)
    return [
      {
        name: "queue",
        status: "missing",
        detail: q.error ?? q.url,
        hint: "start Redis there, or check host, port, password and TLS (KFORGE_QUEUE_TLS_CA)",
      },
    ];
  const jobs = (["cuda", "cpu"] as const).map((d) => `${d}: ${q.streams[d].waiting} waiting, ${q.streams[d].running} running`).join("; ");
  const checks: Check[] = [{ name: "queue", status: "ok", detail: `${q.url} (Redis ${q.redisVersion}); jobs ${jobs}` }];
  if (q.workers.length === 0)
    checks.push({
      name: "workers",
      status: "warn",
      detail: "none alive",
      hint: "start `kforge worker --queue URL` on the GPU hosts (README: Remote workers)",
    });
  for (const w of q.workers)
    checks.push({ name: `worker ${w.workerId}`, status: w.sandbox.ok ? "ok" : "warn", detail: describeWorker(w), worker: w });
  return checks;
}

function torchChecks(p: PythonProbe, hint: string): Check[] {
  const out: Check[] = [];
  out.push(
    p.torch
      ? { name: "torch", status: "ok", detail: p.torch }
      : { name: "torch", status: "missing", detail: p.torch_error ?? "not importable", hint, required: true },
  );
  out.push(
    p.triton
      ? { name: "triton", status: "ok", detail: p.triton }
      : {
          name: "triton",
          status: p.cuda ? "missing" : "warn",
          detail: p.triton_error ?? "not importable",
          hint: "pip install triton (GPU hosts only; CPU test problems need none)",
        },
  );
  const gpus = p.gpus ?? [];
  out.push(
    gpus.length
      ? { name: "gpu", status: "ok", detail: summarizeGpus(gpus) }
      : {
          name: "gpu",
          status: "warn",
          detail: "none visible to torch",
          hint: "GPU problems need an NVIDIA GPU with a CUDA build of torch; CPU test problems still work",
        },
  );
  return out;
}

function summarizeGpus(names: string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${c} x ${n}`).join(", ");
}

/** A hint naming another interpreter on PATH that has torch, when the configured one lacks it. */
async function betterPython(current: string): Promise<string> {
  for (const py of ["python3", "/usr/bin/python3", "python"]) {
    if (py === current) continue;
    const p = await probePython(py, 30_000);
    if (!("error" in p) && p.torch) return `set KFORGE_PYTHON=${py} (it has torch ${p.torch})`;
  }
  return "install PyTorch (Debian: apt-get install python3-torch) or set KFORGE_PYTHON to a Python that has it";
}

function dbCheck(path: string): Check {
  let dir = existsSync(path) ? path : dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return {
      name: "database",
      status: "missing",
      detail: `${path} (not writable)`,
      hint: "set KFORGE_HOME or KFORGE_DB to a writable place",
      required: true,
    };
  }
  return { name: "database", status: "ok", detail: existsSync(path) ? path : `${path} (created on first use)` };
}
