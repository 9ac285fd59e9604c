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
