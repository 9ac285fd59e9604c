/**
 * What crosses Redis between an orchestrator (a search) and its GPU workers, as zod schemas: every message is
 * parsed on arrival, and one that does not parse is refused, never half-used.
 *
 * Keys (one Redis database may serve several searches):
 *   kforge:jobs:cuda, kforge:jobs:cpu   job streams, consumer group `workers` (one consumer per worker)
 *   kforge:results:ORCHESTRATOR         one search's inbox: `started`, result and `released` messages from workers
 *   kforge:worker:WORKER                a worker's heartbeat (a hash with a TTL: it vanishes when the worker does)
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { BaselineTimingsSchema } from "../verifier/baseline-cache.ts";
import { VerifyResult } from "../verifier/result.ts";
import { ProfileSummary } from "../profiler/types.ts";

const ProfileOutcomeSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("ok"), summary: ProfileSummary, costMs: z.number() }),
  z.object({ status: z.literal("unavailable"), reason: z.string(), costMs: z.number() }),
  z.object({ status: z.literal("failed"), reason: z.string(), costMs: z.number() }),
]);

export const PROTOCOL_VERSION = 1;
export const GROUP = "workers";
export type Device = "cuda" | "cpu";

/** Redis key names, in one place. */
export const keys = {
  jobs: (device: Device) => `kforge:jobs:${device}`,
  results: (orchestrator: string) => `kforge:results:${orchestrator}`,
  worker: (id: string) => `kforge:worker:${id}`,
  workerPattern: "kforge:worker:*",
};

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A problem's folder as text files (problem.json, reference.py, mods.json, ...): workers need no copy of the suite or the user's variants. */
export const ProblemFiles = z.object({
  name: z.string().min(1),
  files: z.record(z.string().regex(/^[\w.-]+$/, "a plain file name"), z.string()),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ProblemFiles = z.infer<typeof ProblemFiles>;

/** One job as issued: `attempt` grows each time the job is issued again after its worker vanished. */
export const QueueJob = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    jobId: z.string().min(1),
    attempt: z.number().int().positive(),
    orchestrator: z.string().min(1),
    kind: z.enum(["verify", "baseline", "profile"]),
    device: z.enum(["cuda", "cpu"]),
    problem: ProblemFiles,
    source: z.string().optional(),
    sourceSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    timing: z.boolean().optional(),
    /** Baselines the orchestrator knows, one per GPU model: a worker uses only its own model's, else measures it. */
    baselines: z.array(BaselineTimingsSchema),
    candidateId: z.string().optional(),
    issuedAt: z.number(),
  })
  .strict()
  .refine(
    (j) => j.kind !== "verify" || (j.source !== undefined && j.sourceSha256 === sha256(j.source)),
    "a verify job carries its source and that source's sha256",
  );
export type QueueJob = z.infer<typeof QueueJob>;

/** Who sends a worker message: in every message, so the orchestrator can hold each attempt to one worker. */
const Sender = {
  jobId: z.string(),
  attempt: z.number().int().positive(),
  workerId: z.string().min(1),
  host: z.string(),
  /** The GPU model of the lane that ran it ("cpu" on the CPU lane). */
  gpu: z.string(),
};

export const WorkerMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("started"), ...Sender }).strict(),
  z.object({ type: z.literal("verified"), ...Sender, result: VerifyResult, baseline: BaselineTimingsSchema.optional() }).strict(),
  z.object({ type: z.literal("baseline"), ...Sender, baseline: BaselineTimingsSchema }).strict(),
  z.object({ type: z.literal("profiled"), ...Sender, outcome: ProfileOutcomeSchema }).strict(),
  /** A fault of the worker's own (its setup, not the kernel): the candidate is marked failed, not the run. */
  z.object({ type: z.literal("error"), ...Sender, message: z.string() }).strict(),
  /**
   * A stopping worker hands its job back (SIGTERM, `kforge workers stop`, Ctrl-C): the orchestrator runs it again
   * at once as the next attempt instead of waiting for the lease to lapse. Taken only from the worker that started
   * the job's current attempt; that attempt's later replies are stale like any other.
   */
  z.object({ type: z.literal("released"), ...Sender, reason: z.string() }).strict(),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;

/** A worker's heartbeat: what `kforge doctor` shows of it. */
export const WorkerInfo = z.object({
  workerId: z.string(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.number(),
  beatAt: z.number(),
  lanes: z.object({ cuda: z.number().int().nonnegative(), cpu: z.number().int().nonnegative() }),
  busy: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  gpus: z.array(z.string()),
  versions: z.object({ kforge: z.string(), node: z.string(), python: z.string(), torch: z.string(), triton: z.string() }),
  sandbox: z.object({ ok: z.boolean(), mode: z.string().nullable(), layers: z.record(z.string(), z.boolean()) }),
});
export type WorkerInfo = z.infer<typeof WorkerInfo>;

/** A stream entry's fields ([k1, v1, k2, v2, ...]) as an object. */
export function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

/** Parses one JSON field with a schema: the value, or the reason it was refused. */
export function parseField<T>(schema: z.ZodType<T>, raw: string | undefined): { ok: true; value: T } | { ok: false; reason: string } {
  if (raw === undefined) return { ok: false, reason: "no payload" };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  const r = schema.safeParse(json);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, reason: r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
}
