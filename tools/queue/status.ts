/** What `kforge doctor` shows of a queue: whether Redis answers, what waits in the streams, and every live worker. */
import { connectQueue, describeRedisError, type QueueAddress } from "./connect.ts";
import { type Device, GROUP, keys, parseField, WorkerInfo } from "./protocol.ts";

export interface QueueStatus {
  url: string;
  reachable: boolean;
  error?: string;
  redisVersion?: string;
  /** Per device stream: jobs not yet taken, and jobs taken but not finished. */
  streams: Record<Device, { waiting: number; running: number }>;
  workers: WorkerInfo[];
}

/** Reads the queue's state once (a few commands; fails fast when Redis is unreachable). */
export async function queueStatus(addr: QueueAddress): Promise<QueueStatus> {
  const redis = connectQueue(addr, { failFast: true, name: "kforge-doctor" });
  const status: QueueStatus = {
    url: addr.shown,
    reachable: false,
    streams: { cuda: { waiting: 0, running: 0 }, cpu: { waiting: 0, running: 0 } },
    workers: [],
  };
  try {
    const info = await redis.info("server");
    status.reachable = true;
    status.redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
    for (const device of ["cuda", "cpu"] as const) {
      const groups = (await redis.call("XINFO", "GROUPS", keys.jobs(device)).catch(() => [])) as unknown[][];
      const g = groups.map(pairs).find((x) => x["name"] === GROUP);
      if (g) status.streams[device] = { waiting: Number(g["lag"] ?? 0), running: Number(g["pending"] ?? 0) };
    }
    let cursor = "0";
    const found: string[] = [];
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", keys.workerPattern, "COUNT", 200);
      cursor = next;
      found.push(...batch);
    } while (cursor !== "0");
    for (const key of found.sort()) {
      const w = parseField(WorkerInfo, (await redis.hget(key, "info")) ?? undefined);
      if (w.ok) status.workers.push(w.value);
    }
  } catch (err) {
    status.error = describeRedisError(err, addr, redis);
  } finally {
    redis.disconnect();
  }
  return status;
}

function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** One line of a worker for the terminal: host, GPUs, versions, sandbox layers, last heartbeat. */
export function describeWorker(w: WorkerInfo, now = Date.now()): string {
  const gpus = w.gpus.length ? summarize(w.gpus) : "no GPU (CPU lane only)";
  const layers = Object.entries(w.sandbox.layers);
  const off = layers.filter(([, ok]) => !ok).map(([n]) => n);
  const sandbox = !w.sandbox.ok
    ? `sandbox NOT working${off.length ? ` (missing ${off.join(", ")})` : ""}`
    : `sandbox ${layers.length}/${layers.length} layers (${w.sandbox.mode})`;
  const v = w.versions;
  const beat = ((now - w.beatAt) / 1000).toFixed(1);
  return `${w.host} pid ${w.pid}: ${gpus}; kforge ${v.kforge}, node ${v.node}, python ${v.python}, torch ${v.torch || "-"}, triton ${v.triton || "-"}; ${sandbox}; busy ${w.busy}/${w.lanes.cuda + w.lanes.cpu}, done ${w.done}; last heartbeat ${beat}s ago`;
}

function summarize(names: string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${c} x ${n}`).join(", ");
}

/** Lanes the live workers offer for `device` (0 when Redis does not answer): what a search can keep busy. */
export async function queueLanes(addr: QueueAddress, device: Device): Promise<number> {
  const s = await queueStatus(addr);
  return s.workers.reduce((n, w) => n + w.lanes[device], 0);
}
