/** A terminal stream that scrubs configured secrets from everything written to it (the CLI's last chokepoint). */
import type { Redactor } from "./redact.ts";

/** `stream` with every written text redacted; its other properties (isTTY, columns, rows) are the stream's own. */
export function redactingStream<T extends NodeJS.WritableStream>(stream: T, redactor: Redactor): T {
  if (redactor.empty) return stream;
  const scrub = (chunk: unknown): unknown =>
    typeof chunk === "string" ? redactor.text(chunk) : chunk instanceof Uint8Array ? redactor.text(Buffer.from(chunk).toString("utf8")) : chunk;
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === "write") return (chunk: unknown, ...rest: unknown[]) => (target.write as (...a: unknown[]) => boolean)(scrub(chunk), ...rest);
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
