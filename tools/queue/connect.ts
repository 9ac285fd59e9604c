/**
 * Connections to the queue's Redis: `redis://[USER][:PASSWORD@]HOST:PORT[/DB]` (AUTH) or `rediss://` (TLS, with
 * KFORGE_QUEUE_TLS_CA for a private CA). Connections retry for ever by default: a Redis restart pauses the
 * queue, it does not end a search or a worker.
 */
import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import { ConfigError } from "../../core/errors.ts";

/** How a queue is reached, with the URL's password kept out of anything printed. */
export interface QueueAddress {
  url: string;
  /** The URL with its password replaced by `***`, for messages. */
  shown: string;
  tls: boolean;
  tlsCa?: string;
}

/** Checks a queue URL; a mistyped one fails here with what to fix. */
export function parseQueueUrl(raw: string, tlsCa?: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`queue URL "${raw.replace(/:[^:@/]*@/, ":***@")}" is not a URL`, {
      hint: "write it as redis://HOST:PORT, redis://:PASSWORD@HOST:PORT or rediss://HOST:PORT (TLS)",
    });
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new ConfigError(`queue URL scheme ${u.protocol} is not supported`, { hint: "use redis:// (plain) or rediss:// (TLS)" });
  }
  if (!u.hostname) throw new ConfigError(`queue URL ${raw} names no host`, { hint: "redis://HOST:PORT" });
  const shown = u.password ? raw.replace(`:${u.password}@`, ":***@") : raw;
  return { url: raw, shown, tls: u.protocol === "rediss:", ...(tlsCa ? { tlsCa } : {}) };
}

/** A client. `failFast`: give up after the first failed connection (doctor), instead of retrying for ever. */
export function connectQueue(addr: QueueAddress, opts: { failFast?: boolean; name?: string } = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectionName: opts.name ?? "kforge",
    maxRetriesPerRequest: opts.failFast ? 1 : null,
    enableOfflineQueue: true,
    connectTimeout: opts.failFast ? 3000 : 10_000,
    retryStrategy: opts.failFast ? () => null : (times) => Math.min(100 * times, 1000),
    ...(addr.tls ? { tls: addr.tlsCa ? { ca: readFileSync(addr.tlsCa) } : {} } : {}),
  };
  const client = new Redis(addr.url, options);
  // Reconnection is automatic; callers see failed commands where it matters, and the cause through lastError().
  client.on("error", (e: Error) => causes.set(client, e));
  return client;
}

const causes = new WeakMap<Redis, Error>();

/** A Redis error message with the URL's password never in it, and AUTH failures said plainly; `client`'s last
 * connection error (a refused certificate, a refused connection) is named when the command only says it closed. */
export function describeRedisError(err: unknown, addr: QueueAddress, client?: Redis): string {
  const cause = client ? causes.get(client) : undefined;
  const given = err instanceof Error ? err.message : String(err);
  const msg = cause && /Connection is closed/.test(given) ? `${cause.message} (${given})` : given;
  if (/WRONGPASS|NOAUTH|invalid password/i.test(msg)) return `${addr.shown}: authentication failed (${msg.split("\n")[0]})`;
  return `${addr.shown}: ${msg.replaceAll(addr.url, addr.shown)}`;
}
