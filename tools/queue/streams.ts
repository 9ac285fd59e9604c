/** Small Redis Streams helpers shared by the orchestrator and the workers. */
import type { Redis } from "ioredis";
import { GROUP } from "./protocol.ts";

/** Creates the stream and its consumer group when missing (idempotent). */
export async function ensureGroup(redis: Redis, stream: string): Promise<void> {
  try {
    await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  } catch (err) {
    if (!/BUSYGROUP/.test(String(err))) throw err;
  }
}

/** Waits for `p` at most `ms`: clean-up writes must not hang a process whose Redis is gone (commands retry for ever). */
export async function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
