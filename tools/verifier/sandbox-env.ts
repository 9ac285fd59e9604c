/**
 * What a candidate's process may see: a whitelisted environment (no API keys), HOME/TMPDIR and the
 * compile caches inside its own temp dir, and no network where `unshare` allows it.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** Variables Python, CUDA and Triton need; everything else is dropped. */
const PASS_THROUGH = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH", "VIRTUAL_ENV", "CONDA_PREFIX"];
/** Names that look like secrets are dropped even when whitelisted or set explicitly. */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD/i;

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
  for (const name of PASS_THROUGH) {
    const v = from[name];
    if (v !== undefined) env[name] = v;
  }
  const cache = o.sharedCacheDir ?? o.workdir;
  Object.assign(env, {
    HOME: o.workdir,
    TMPDIR: o.workdir,
    TRITON_CACHE_DIR: join(cache, "triton"),
    TORCHINDUCTOR_CACHE_DIR: join(cache, "inductor"),
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONUNBUFFERED: "1",
    PYTHONNOUSERSITE: "1",
    CUDA_VISIBLE_DEVICES: o.cudaVisibleDevices,
  });
  if (o.pythonPath?.length) env["PYTHONPATH"] = o.pythonPath.join(":");
  const secrets = new Set(o.secretNames);
  for (const name of Object.keys(env)) if (secrets.has(name) || SECRET_NAME.test(name)) delete env[name];
  return env;
}

let isolation: string[] | null | undefined;

/** `unshare -n` (root) or `unshare -rn` (a user namespace), whichever works here; null when neither does. Probed once. */
export function networkIsolationPrefix(): string[] | null {
  if (isolation !== undefined) return isolation;
  isolation = null;
  for (const prefix of [["unshare", "-n"], ["unshare", "-rn"]]) {
    const r = spawnSync(prefix[0] as string, [...prefix.slice(1), "true"], { stdio: "ignore", timeout: 5000 });
    if (r.status === 0) {
      isolation = prefix;
      break;
    }
  }
  return isolation;
}
