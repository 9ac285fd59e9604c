/**
 * The one line of an error message that says what went wrong. Triton's compile errors start with a
 * location ("CompilationError: at 31:12:"), then the source line and a caret, and only then the cause:
 * their first line alone tells a reader (or a tree line cut to fit a terminal) nothing.
 */

/** Messages longer than this are cut (with "...") in one-line summaries. */
export const MAX_HEADLINE_CHARS = 160;

const LOCATION_ONLY = /^(.*?):?\s*at (\d+):(\d+):?\s*$/;
const CARET = /^\s*\^+\s*$/;
const FRAME = /^\s*File "/;

/** The cause of the error in one line, exception names without their module path, at most MAX_HEADLINE_CHARS. */
export function errorHeadline(message: string): string {
  const lines = message.split("\n").filter((l) => l.trim() !== "");
  const first = (lines[0] ?? message).trim();
  let line = shortNames(first);
  const at = LOCATION_ONLY.exec(first);
  const caret = lines.findIndex((l) => CARET.test(l));
  const cause = at && caret >= 0 ? lines.slice(caret + 1).find((l) => !FRAME.test(l)) : undefined;
  if (at && cause) line = `${shortNames(cause.trim())} (${shortNames(at[1]!.trim()) || "error"} at ${at[2]}:${at[3]})`;
  return line.length > MAX_HEADLINE_CHARS ? `${line.slice(0, MAX_HEADLINE_CHARS - 3)}...` : line;
}

/** "triton.compiler.errors.CompilationError" -> "CompilationError" (the module path pushes the message out of view). */
function shortNames(s: string): string {
  return s.replace(/\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*(?:Error|Exception|Failure|Failed))\b/g, "$1");
}
