/**
 * Grounding a model's profile reading in the profile itself: every number a bottleneck's evidence quotes
 * should be a number the profile (or the kernel) contains. Numbers that appear nowhere are listed on the
 * bottleneck as `unverified`, so the planner and coder read them with suspicion and the trace shows them.
 * Nothing is dropped: a model may compute a ratio; it just cannot pass one off as a measurement unremarked.
 */
import type { ProfileSummary } from "../../tools/profiler/types.ts";
import type { Bottleneck, Bottlenecks } from "./schema.ts";

type Unit = "pct" | "bytes" | "time" | "million" | "plain";

/** The profile's numbers a reader could quote with a given unit, in that unit's usual scalings. */
function profileNumbers(s: ProfileSummary, unit: Unit): number[] {
  const out: number[] = [];
  const entries = Object.entries(s.metrics);
  const evidenceNumbers = s.evidence.flatMap((e) => [...e.matchAll(NUMBER)].map((m) => Number(m[0])));
  switch (unit) {
    case "pct":
      for (const [k, v] of entries) if (/Pct$/.test(k)) out.push(v);
      for (const st of s.stalls) out.push(st.pct);
      break;
    case "bytes":
      for (const [k, v] of entries) if (/Bytes$/.test(k)) out.push(v, v / 1024, v / 1024 ** 2, v / 1e3, v / 1e6, v / 1e9);
      if (s.compile?.sharedBytes) out.push(s.compile.sharedBytes, s.compile.sharedBytes / 1024);
      break;
    case "time":
      for (const [k, v] of entries) if (/Ns$/.test(k)) out.push(v, v / 1e3, v / 1e6);
      break;
    case "million":
      for (const [, v] of entries) out.push(v / 1e6, v / 1e3);
      break;
    case "plain":
      for (const [, v] of entries) out.push(v);
      for (const v of Object.values(s.compile ?? {})) if (typeof v === "number") out.push(v);
      for (const v of Object.values(s.shape)) out.push(v);
      break;
  }
  return [...out, ...evidenceNumbers].filter((v) => Number.isFinite(v));
}

const NUMBER = /\d+(?:\.\d+)?/g;

/** Whether the quoted text is one of the profile's numbers as a reader would round it (to the digits quoted). */
function matches(text: string, pool: readonly number[], unit: Unit): boolean {
  const x = Number(text);
  const decimals = text.includes(".") ? text.length - text.indexOf(".") - 1 : 0;
  const tol = Math.max(0.6 * 10 ** -decimals, unit === "pct" ? 0 : 0.01 * Math.abs(x));
  return pool.some((v) => Math.abs(v - x) <= tol);
}

function unitOf(after: string): { unit: Unit; text: string } {
  const m = /^\s*(%|[KMG]i?B\b|B\b|bytes\b|us\b|µs\b|ms\b|ns\b|M\b)/.exec(after);
  const text = m?.[1] ?? "";
  if (text === "%") return { unit: "pct", text };
  if (/B|bytes/.test(text)) return { unit: "bytes", text };
  if (/s$/.test(text)) return { unit: "time", text };
  if (text === "M") return { unit: "million", text };
  return { unit: "plain", text };
}

/**
 * The quoted numbers of one evidence text that neither the profile nor the kernel contains. Small integers
 * (<= 8: block counts, stages, warps) and numbers that are part of names (sm_90, exp2, bf16) are not checked.
 */
export function unverifiedNumbers(evidence: string, summary: ProfileSummary, kernel = ""): string[] {
  const kernelNumbers = new Set(kernel.match(NUMBER) ?? []);
  const out: string[] = [];
  for (const m of evidence.matchAll(NUMBER)) {
    const text = m[0];
    const before = evidence[m.index - 1] ?? "";
    if (/[A-Za-z_]/.test(before)) continue; // part of an identifier: sm_90, exp2, bf16, float32
    const x = Number(text);
    const unit = unitOf(evidence.slice(m.index + text.length));
    if ((x <= 8 && unit.unit === "plain") || kernelNumbers.has(text) || matches(text, profileNumbers(summary, unit.unit), unit.unit)) continue;
    out.push(`${text}${unit.text}`);
  }
  return [...new Set(out)];
}

/** The model's bottlenecks with `unverified` set where their evidence quotes numbers the profile lacks. */
export function groundBottlenecks(b: Bottlenecks, summary: ProfileSummary, kernel = ""): Bottlenecks {
  return {
    ...b,
    bottlenecks: b.bottlenecks.map((x): Bottleneck => {
      const bad = unverifiedNumbers(x.evidence, summary, kernel);
      return bad.length ? { ...x, unverified: bad } : x;
    }),
  };
}
