/**
 * The sandbox specification (tools/sandbox/spec.json) as TypeScript sees it. The same file is read by the launcher
 * that applies it (launch.py) and by the Python driver of hosts without Node, so limits and the environment
 * allow-list cannot drift between them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { repoRoot } from "../../core/config.ts";

export const SandboxSpec = z
  .object({
    $comment: z.string().optional(),
    env_allow: z.array(z.string()),
    env_set: z.array(z.string()),
    secret_name_pattern: z.string(),
    system_ro: z.array(z.string()),
    dev_nodes: z.array(z.string()),
    gpu_dev_globs: z.array(z.string()),
    /** Each sandbox runs as its own uid in [base, base + count): its process limit and files are its alone. */
    sandbox_uid_base: z.number().int().positive(),
    sandbox_uid_count: z.number().int().positive(),
    limits: z
      .object({
        address_space_mb_cpu: z.number().int().positive(),
        data_mb_gpu: z.number().int().positive(),
        nproc: z.number().int().positive(),
        nofile: z.number().int().positive(),
        fsize_mb: z.number().int().positive(),
        cpu_s: z.number().int().positive(),
        tmp_mb: z.number().int().positive(),
      })
      .strict(),
    seccomp_deny: z.array(z.string()),
    /** Wall-clock seconds per harness phase; `job` covers modes that announce no phases. */
    phase_limits_s: z
      .object({
        start: z.number(),
        static: z.number(),
        import: z.number(),
        compile: z.number(),
        correctness: z.number(),
        timing: z.number(),
        job: z.number(),
      })
      .strict(),
  })
  .strict();
export type SandboxSpec = z.infer<typeof SandboxSpec>;

/** The directory of the launcher and its spec (inside the repository or the portable bundle). */
export function sandboxDir(): string {
  return join(repoRoot(), "tools", "sandbox");
}

let cached: SandboxSpec | undefined;

/** The parsed spec.json (read once). */
export function sandboxSpec(): SandboxSpec {
  cached ??= SandboxSpec.parse(JSON.parse(readFileSync(join(sandboxDir(), "spec.json"), "utf8")));
  return cached;
}
