/**
 * Reading a reply body with a size cap: a hostile or broken server cannot make kforge hold more
 * than the cap in memory (a 600 MB JSON body is cut after the cap, not parsed).
 */

/** Bytes a JSON body may take for `maxChars` characters of text (escapes like \uXXXX take six), plus framing. */
export function jsonBodyCap(maxChars: number): number {
  return maxChars * 6 + 64 * 1024;
}

/** The body as text, or `null` when it grew past `maxBytes` (the rest is not read: the stream is cancelled). */
export async function readCappedText(response: Response, maxBytes: number): Promise<string | null> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** SSE bytes allowed per character of reply: a delta of one token travels in a ~250-byte JSON event. */
export const SSE_BYTES_PER_CHAR = 100;

/** The error a capped body raises once it passes its byte limit (the stream is cut there). */
export class BodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`reply body passed ${maxBytes} bytes`);
  }
}

/**
 * A fetch whose response bodies error with BodyTooLarge past `maxBytes`: however a server frames its
 * reply (one endless SSE line, a giant JSON), the client never holds more than the cap.
 */
export function cappedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body) return res;
    let total = 0;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          total += chunk.byteLength;
          if (total > maxBytes) controller.error(new BodyTooLarge(maxBytes));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** Whether `err` (or one of its causes) is a BodyTooLarge. */
export function isBodyTooLarge(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BodyTooLarge) return true;
  }
  return false;
}
