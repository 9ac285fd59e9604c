/**
 * Makes text from outside (a model's reply, a server's error, a kernel's log) inert for a terminal:
 * no escape sequence can recolour, retitle, move the cursor or overwrite a line. Newlines and tabs stay.
 */

// String-terminated sequences (OSC, DCS, SOS, PM, APC), 7- and 8-bit, ended by BEL or ST (or the end of the text).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal control sequences is the point
const STRING_SEQ = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)/g;
// Control sequences: CSI (ESC [ or 0x9b) with parameters, intermediates and a final byte.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal control sequences is the point
const CSI_SEQ = /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?/g;
// Any other escape: ESC, intermediates, a final byte.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal control sequences is the point
const ESC_SEQ = /\x1b[\x20-\x2f]*[\x30-\x7e]?/g;
// Remaining C0 controls but \t and \n, DEL, C1 controls, and bidirectional overrides that reorder what is shown.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** `text` without escape sequences and control characters (\n and \t kept; \r\n becomes \n). */
export function inertText(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(STRING_SEQ, "").replace(CSI_SEQ, "").replace(ESC_SEQ, "").replace(CONTROLS, "");
}

/** A deep copy of `v` with every string made inert (objects and arrays; other values as they are). */
export function inertValue<T>(v: T): T {
  if (typeof v === "string") return inertText(v) as T;
  if (Array.isArray(v)) return v.map((x) => inertValue(x)) as T;
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, inertValue(x)])) as T;
  }
  return v;
}
