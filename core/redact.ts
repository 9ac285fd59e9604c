/**
 * Scrubs secret values out of text before it is stored, printed or sent to a model: each value,
 * and its base64 at every alignment (a secret inside a base64 blob), becomes `[redacted:NAME]`.
 */
import type { Secret } from "./secrets.ts";

/** Replaces secret values in texts and in the strings of JSON-like values. */
export interface Redactor {
  /** The text with every secret replaced. */
  text(s: string): string;
  /** A deep copy of `v` with every string scrubbed (objects, arrays; other values as they are). */
  value<T>(v: T): T;
  /** True when there is nothing to scrub (no secrets configured). */
  readonly empty: boolean;
}

/** Shortest encoded fragment worth matching: shorter ones would hit ordinary base64 by chance. */
const MIN_FRAGMENT = 8;

/** The forms a secret is searched in: the value, its base64 (standard and URL-safe) at the three byte alignments. */
export function secretForms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const forms = new Set([value]);
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes])
      .toString("base64")
      .replace(/=+$/, "");
    // Characters that also depend on bytes outside the value (the leading group, a partial last group) are cut off.
    const start = pad === 0 ? 0 : 4;
    const total = pad + bytes.length;
    const end = pad === 0 && total % 3 === 0 ? b64.length : Math.floor(total / 3) * 4;
    const exact = pad === 0 ? Buffer.from(bytes).toString("base64") : "";
    for (const f of [b64.slice(start, end), exact]) {
      if (f.length < MIN_FRAGMENT) continue;
      forms.add(f);
      forms.add(f.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
    }
  }
  return [...forms];
}

/** A redactor for `secrets`; the longest forms are replaced first so one secret inside another is still caught. */
export function createRedactor(secrets: readonly Secret[]): Redactor {
  const pairs = secrets.flatMap((s) => secretForms(s.value).map((form) => ({ form, tag: `[redacted:${s.name}]` })));
  pairs.sort((a, b) => b.form.length - a.form.length);
  const text = (s: string): string => {
    if (pairs.length === 0 || s.length === 0) return s;
    let out = s;
    for (const p of pairs) if (out.includes(p.form)) out = out.split(p.form).join(p.tag);
    return out;
  };
  const value = <T>(v: T): T => {
    if (pairs.length === 0) return v;
    if (typeof v === "string") return text(v) as T;
    if (Array.isArray(v)) return v.map((x) => value(x)) as T;
    if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), value(x)])) as T;
    }
    return v;
  };
  return { text, value, empty: pairs.length === 0 };
}

/** A redactor that changes nothing (tests and tools with no secrets configured). */
export const NO_REDACTION: Redactor = createRedactor([]);
