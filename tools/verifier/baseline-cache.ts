/**
 * Baseline timings, measured once and reused: per run in memory, and (for `kforge verify`) in a JSON file
 * under Config.home keyed by problem content, GPU and torch version, so a second verify skips them.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import type { LoadedProblem } from "../../problems/schema.ts";
import type { BaselineTimings } from "./types.ts";

const Timing = z.object({ ms: z.number(), tflops: z.number() });
export const BaselineTimingsSchema = z.object({
  problem: z.string(),
  gpu: z.string(),
  shapes: z.record(z.string(), z.record(z.string(), Timing)),
  measuredAt: z.string(),
});
const CacheFile = z.object({ version: z.literal(1), entries: z.record(z.string(), BaselineTimingsSchema) });

/**
 * How the harness times (timing.py). A change of method must not mix with timings cached under the old
 * one: v2 times batches of back-to-back calls between events, v1 timed one call at a time.
 */
export const TIMING_METHOD = "timing v2";

/** The cache key: the problem's content (spec + reference), the GPU and the torch that timed it, the method. */
export function baselineKey(problem: LoadedProblem, gpu: string, torch: string): string {
  const digest = createHash("sha256").update(JSON.stringify(problem.spec)).update(problem.referenceSource).digest("hex").slice(0, 16);
  return `${problem.spec.name}|${digest}|${gpu}|torch ${torch}|${TIMING_METHOD}`;
}

export class BaselineCache {
  private readonly memory = new Map<string, BaselineTimings>();
  private readonly inflight = new Map<string, Promise<BaselineTimings>>();

  /** `file`: persist across processes (kforge verify); omit for a per-run cache (a search measures afresh). */
  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      const parsed = CacheFile.safeParse(safeJson(readFileSync(file, "utf8")));
      if (parsed.success) for (const [k, v] of Object.entries(parsed.data.entries)) this.memory.set(k, v);
    }
  }

  get(key: string): BaselineTimings | undefined {
    return this.memory.get(key);
  }

  /** The cached timings, or measures them once even when many callers ask at the same time. */
  async getOrMeasure(key: string, measure: () => Promise<BaselineTimings>): Promise<BaselineTimings> {
    const hit = this.memory.get(key);
    if (hit) return hit;
    let p = this.inflight.get(key);
    if (!p) {
      p = measure().then((t) => {
        this.set(key, t);
        return t;
      });
      this.inflight.set(key, p);
      p.finally(() => this.inflight.delete(key)).catch(() => {});
    }
    return p;
  }

  set(key: string, timings: BaselineTimings): void {
    this.memory.set(key, timings);
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const onDisk = existsSync(this.file) ? CacheFile.safeParse(safeJson(readFileSync(this.file, "utf8"))) : undefined;
    const entries = { ...(onDisk?.success ? onDisk.data.entries : {}), [key]: timings };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, entries }, null, 1)}\n`);
    renameSync(tmp, this.file); // atomic: a concurrent reader sees the old or the new file, never half
  }

  /** Drops one key (`kforge verify --rebaseline`). */
  delete(key: string): void {
    this.memory.delete(key);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
