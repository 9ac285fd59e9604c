/**
 * What a candidate's process may see of the environment: the allow-list of tools/sandbox/spec.json (the same list
 * the launcher enforces again inside, and the Python driver uses), no secrets, HOME/TMPDIR and the compile caches
 * inside its own temp dir.
 */
import { join } from "node:path";
import { sandboxSpec } from "../sandbox/spec.ts";

/** Names that look like secrets are dropped even when allowed or set explicitly. */
export function secretNamePattern(): RegExp {
  return new RegExp(sandboxSpec().secret_name_pattern, "i");
}

export interface SandboxEnvOptions {
  /** The candidate's temp dir: HOME, TMPDIR, TRITON_CACHE_DIR and TORCHINDUCTOR_CACHE_DIR live inside. */
  workdir: string;
  /** Names from Config.secretNames (dropped whatever they are called). */
  secretNames: string[];
  /** "0", "1", ... for a GPU lane; "" hides every GPU (CPU lanes). */
  cudaVisibleDevices: string;
  /** Extra directories for PYTHONPATH (where torch lives when it is a user-site install). */
  pythonPath?: string[];
  /** Shared compile caches for jobs that run only our code (baselines, reference checks). */
  sharedCacheDir?: string;
  /** The parent environment (default process.env). */
  from?: NodeJS.ProcessEnv;
}

/** The complete environment of a harness process. */
export function scrubbedEnv(o: SandboxEnvOptions): Record<string, string> {
  const from = o.from ?? process.env;
  const env: Record<string, string> = {};
  for (const name of sandboxSpec().env_allow) {
    const v = from[name];
    if (v !== undefined) env[name] = v;
  }
  const cache = o.sharedCacheDir ?? o.workdir;
  Object.assign(env, {
    HOME: o.workdir,
    TMPDIR: o.workdir,
    USER: "kforge-sandbox",
    LOGNAME: "kforge-sandbox",
    TRITON_CACHE_DIR: join(cache, "triton"),
    TORCHINDUCTOR_CACHE_DIR: join(cache, "inductor"),
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONUNBUFFERED: "1",
    PYTHONNOUSERSITE: "1",
    CUDA_VISIBLE_DEVICES: o.cudaVisibleDevices,
  });
  if (o.pythonPath?.length) env["PYTHONPATH"] = o.pythonPath.join(":");
  const secrets = new Set(o.secretNames);
  const pattern = secretNamePattern();
  for (const name of Object.keys(env)) if (secrets.has(name) || pattern.test(name)) delete env[name];
  return env;
}
