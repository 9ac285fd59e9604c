/** `kforge doctor`: is this machine ready? One line per dependency: ok / missing / warn, and what to do. */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import { effectiveSettings, type Config } from "../../core/config.ts";
import { createRedactor } from "../../core/redact.ts";
import { resolveEndpoint } from "../../agents/model.ts";
import { ROLES } from "../../agents/model-settings.ts";
import { checkEndpoint, type Refusal } from "../../agents/preflight.ts";
import { searchModel, type SearchModel, usageProblems } from "./config-model.ts";
import { probePython, type PythonProbe } from "../../tools/verifier/python-env.ts";
import { probeSandbox } from "../../tools/sandbox/sandbox.ts";
import { emit, type Command } from "../command.ts";
import { parseQueueUrl } from "../../tools/queue/connect.ts";
import type { WorkerInfo } from "../../tools/queue/protocol.ts";
import { describeWorker, queueStatus } from "../../tools/queue/status.ts";
import { PYTHON_FIX } from "../../tools/verifier/python-env.ts";

interface Check {
  name: string;
  status: "ok" | "missing" | "warn";
  detail: string;
  hint?: string;
  /** Without it nothing can be verified. */
  required?: boolean;
  /** A queue worker's heartbeat as it sent it (--json). */
  worker?: WorkerInfo;
  /** A model endpoint as checked (--json): never its key. */
  endpoint?: { provider: string; model: string; baseUrl: string; roles: string[]; reachable: boolean; refusal?: Refusal["kind"] };
}

/** The longest doctor waits for a model endpoint's answer (the search's own pre-flight waits KFORGE_PREFLIGHT_TIMEOUT_S). */
const ENDPOINT_CHECK_MS = 10_000;

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check this machine: python, torch, triton, GPU, ncu, the OS sandbox (each layer), database, the model a search would use",
  usage: "kforge doctor [--queue redis://HOST:PORT]",
  details: [
    "Exit code 0 when kforge can verify kernels here (Python with torch); missing optional parts are listed with what to do.",
    "The model line names the provider and model a search would use now (the offline policy when none is configured);",
    `a DeepSeek or OpenAI-compatible endpoint is asked to answer (GET /models, else a one-token completion; ${ENDPOINT_CHECK_MS / 1000} s at most).`,
  ].join("\n"),
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
  const model = searchModel(config, effectiveSettings());
  const offline = "model" in model && model.model.policy === "offline";
  if ("error" in probe) {
    checks.push({ name: "python", status: "missing", detail: probe.error, hint: await betterPython(config.python), required: true });
  } else {
    checks.push(
      { name: "python", status: "ok", detail: `Python ${probe.python} (${probe.executable})` },
      ...torchChecks(probe, await betterPython(config.python), offline),
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
  checks.push(...(await modelChecks(config, "model" in model ? model.model : null, "problem" in model ? model.problem : null)));
  return checks;
}

/**
 * The provider and model a search would use now, and whether its endpoint answers: the search's own pre-flight
 * request (agents/preflight.ts) per distinct endpoint, with a short limit. Keys are never shown; answers are redacted.
 */
async function modelChecks(
  config: Config,
  search: SearchModel | null,
  problem: { message: string; hint?: string; from: string } | null,
): Promise<Check[]> {
  const out: Check[] = [];
  // Settings a search refuses (an invalid model limit, a queue URL): the endpoint may answer, but no search starts.
  const invalid = [
    ...effectiveSettings()
      .filter((r) => r.invalid !== undefined)
      .map((r) => r.name),
    ...usageProblems(config, effectiveSettings()).map((p) => p.name),
  ];
  if (invalid.length)
    out.push({
      name: "settings",
      status: "missing",
      detail: `invalid: ${invalid.join(", ")}`,
      hint: "`kforge config` says what is wrong with each and where it is set; a search refuses to start until they are fixed",
    });
  if (search === null) {
    out.push({
      name: "model",
      status: "missing",
      detail: `a search would refuse to start: ${problem?.message ?? "no model can be chosen"} (from ${problem?.from ?? "the defaults"})`,
      hint: problem?.hint ?? "`kforge config` shows the model settings",
    });
    return out;
  }
  if (search.policy === "offline") {
    out.push({
      name: "model",
      status: "ok",
      detail: `none: a search would run the offline template-and-mutation policy (provider offline, ${search.providerFrom}); it writes Triton kernels`,
      hint: "to search with a model: DEEPSEEK_API_KEY=sk-..., or KFORGE_BASE_URL=http://HOST:PORT/v1 with KFORGE_MODEL=NAME",
    });
    return out;
  }
  const cfg: Config = { ...config, modelEnv: { ...config.modelEnv, invalid: undefined } };
  const endpoints = new Map<string, { e: ReturnType<typeof resolveEndpoint>; roles: string[] }>();
  for (const role of ROLES) {
    const e = resolveEndpoint(cfg, role);
    const key = `${e.provider} ${e.baseUrl} ${e.model}`;
    (endpoints.get(key) ?? endpoints.set(key, { e, roles: [] }).get(key)!).roles.push(role);
  }
  const redactor = createRedactor(config.secrets);
  const timeoutMs = Math.min(ENDPOINT_CHECK_MS, config.modelLimits.preflightTimeoutMs);
  const from = `provider: ${search.providerFrom}; model: ${search.modelFrom}`;
  const checked = await Promise.all(
    [...endpoints.values()].map(async ({ e, roles }): Promise<Check> => {
      const refusal = await checkEndpoint(e, timeoutMs);
      const name = endpoints.size === 1 ? "model" : `model (${roles.join(", ")})`;
      const what = `${e.provider} "${e.model}" at ${e.baseUrl}`;
      const endpoint = { provider: e.provider, model: e.model, baseUrl: e.baseUrl, roles, reachable: refusal === null };
      if (refusal === null) return { name, status: "ok", detail: `${what}: reachable, serves the model (${from})`, endpoint };
      const state = refusal.kind === "unreachable" ? "unreachable" : "answers, but cannot serve a search";
      return {
        name,
        status: "missing",
        detail: `${what}: ${state}: ${redactor.text(refusal.text)} (${from})`,
        hint: redactor.text(endpointHint(refusal, e.provider, e.baseUrl)),
        endpoint: { ...endpoint, refusal: refusal.kind },
      };
    }),
  );
  return [...out, ...checked];
}

/** What to do about an endpoint that does not serve: the search's own pre-flight refuses it the same way. */
function endpointHint(r: Refusal, provider: string, baseUrl: string): string {
  switch (r.kind) {
    case "key":
      return `check ${provider === "deepseek" ? "DEEPSEEK_API_KEY" : "KFORGE_API_KEY"}: the server rejected the key`;
    case "model":
      return `set KFORGE_MODEL to a model the server serves (list them: curl ${baseUrl}/models)`;
    case "not_api":
      return "the URL answers, but not as an OpenAI-compatible API: point KFORGE_BASE_URL at the API root (usually .../v1)";
    default:
      return `start the server or check the URL from here: curl ${baseUrl}/models (unset KFORGE_PROVIDER/KFORGE_BASE_URL/DEEPSEEK_API_KEY to search offline)`;
  }
}

/** One line per sandbox layer, each observed from inside a real sandbox (tools/sandbox/probe.py). */
async function sandboxChecks(config: Config): Promise<Check[]> {
  const probe = await probeSandbox(config.python);
  if (probe.pythonMissing) {
    // The sandbox launcher runs on the verifier's Python: with none, nothing about the sandbox is known yet.
    return [{ name: "sandbox", status: "missing", required: true, detail: `not probed: ${probe.error}`, hint: PYTHON_FIX }];
  }
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

function torchChecks(p: PythonProbe, hint: string, offline: boolean): Check[] {
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
          // The offline policy writes Triton kernels on every lane, CPU included: without a model, nothing can be searched.
          status: p.cuda || offline ? "missing" : "warn",
          detail: p.triton_error ?? "not importable",
          hint:
            "pip install triton: the offline template policy and every GPU kernel need it; on a CPU-only host only a model " +
            `search of a CPU test problem works without it${offline ? " (and no model is configured here)" : ""}`,
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
