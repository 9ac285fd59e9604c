/** Panel cards for the verifier's result (per-shape tables), the profile and the critique. */
import type { NodeDetail } from "../trace-view.ts";
import { errorHeadline } from "../../tools/verifier/error-headline.ts";
import { card, h, num } from "./dom.ts";

type Shape = { B: number; H: number; Hkv?: number; S: number; D: number };
type Check = { shape: Shape; seed: number; passed: boolean; maxError: number | null; allowance: number; worst?: { index: number[]; note?: string } };
type Timing = {
  shape: Shape;
  ms: number;
  tflops: number;
  baselines: Record<string, { ms: number; tflops: number }>;
  speedup: Record<string, number>;
  runs: number;
};
/** The VerifyResult fields the panel reads; parsed on the server, read loosely here. */
type Result = {
  status: string;
  message?: string;
  rule?: string;
  kind?: string;
  phase?: string;
  limitS?: number;
  line?: number;
  checks?: Check[];
  timings?: Timing[];
  speedup?: number | null;
  tflops?: number | null;
  gpu?: string;
  log?: string;
  phases?: Record<string, number>;
};

const shapeLabel = (s: Shape) => `${s.B}×${s.H}${s.Hkv !== undefined && s.Hkv !== s.H ? `(kv ${s.Hkv})` : ""}×${s.S}×${s.D}`;
const sci = (x: number | null) => (x === null ? "non-finite" : x === 0 ? "0" : x.toExponential(2));

function table(head: string[], rows: (string | Node)[][], cls = ""): HTMLElement {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: `grid ${cls}` },
      h("thead", {}, h("tr", {}, ...head.map((x) => h("th", {}, x)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
    ),
  );
}

/** The latest verification: outcome line, correctness checks per shape and seed, timings per shape. */
export function verifierSection(d: NodeDetail): HTMLElement {
  const v = d.verifications[d.verifications.length - 1];
  if (!v)
    return card(
      "verifier",
      "Verifier",
      h("p", { class: "muted" }, d.node.status === "root" ? "The root holds the problem, not a kernel." : "Not verified (yet)."),
    );
  const r = v.result as Result;
  const head =
    r.status === "ok"
      ? `Correct on ${r.checks?.length ?? 0} checks${r.speedup != null ? ` · ${r.speedup.toFixed(2)}x vs baseline (geomean)` : ""}${r.tflops != null ? ` · ${r.tflops.toFixed(0)} TFLOP/s` : ""}`
      : r.status === "timeout"
        ? `Timed out in ${r.phase} after ${r.limitS}s`
        : r.status === "rejected"
          ? `Rejected by rule ${r.rule}`
          : errorHeadline(r.message ?? r.status);
  const body = h("div", {}, h("p", { class: `verdict st-text-${r.status}` }, head));
  // A one-line message is already the verdict above; longer ones (compiler output) are shown whole.
  if (r.status !== "ok" && r.message && (r.message.includes("\n") || r.status === "rejected"))
    body.append(h("pre", { class: "wrap message" }, r.message + (r.line ? `\n(line ${r.line})` : "")));
  if (r.checks?.length) {
    body.append(
      h("h4", {}, "Correctness"),
      table(
        ["shape", "seed", "", "max |err|", "allowance", "worst at"],
        r.checks.map((c) => [
          shapeLabel(c.shape),
          String(c.seed),
          h("span", { class: c.passed ? "pass" : "fail" }, c.passed ? "✓" : "✗"),
          sci(c.maxError),
          sci(c.allowance),
          c.worst ? `[${c.worst.index.join(", ")}]${c.worst.note ? ` ${c.worst.note}` : ""}` : "",
        ]),
        "checks",
      ),
    );
  }
  if (r.timings?.length) {
    const baselines = [...new Set(r.timings.flatMap((t) => Object.keys(t.baselines)))];
    body.append(
      h("h4", {}, "Timing (median)"),
      table(
        ["shape", "ms", "TFLOP/s", ...baselines.map((b) => `${b} ms`), ...baselines.map((b) => `vs ${b}`)],
        r.timings.map((t) => [
          shapeLabel(t.shape),
          t.ms.toFixed(3),
          t.tflops.toFixed(0),
          ...baselines.map((b) => t.baselines[b]?.ms.toFixed(3) ?? "–"),
          ...baselines.map((b) => {
            const s = t.speedup[b];
            return s === undefined ? "–" : h("span", { class: s >= 1 ? "pass" : "fail" }, `${s.toFixed(2)}x`);
          }),
        ]),
        "timings",
      ),
    );
  }
  const phases = r.phases
    ? Object.entries(r.phases)
        .map(([k, ms]) => `${k.replace(/Ms$/, "")} ${num(Math.round(ms))} ms`)
        .join(" · ")
    : "";
  body.append(h("p", { class: "small muted" }, [r.gpu, phases].filter(Boolean).join(" · ")));
  if (r.log) body.append(h("details", { class: "text" }, h("summary", {}, "Log"), h("pre", { class: "wrap" }, r.log)));
  return card("verifier", "Verifier", body, d.verifications.length > 1 ? `${d.verifications.length} runs` : undefined);
}

type Profile = {
  kernel: string;
  shape: Shape;
  durationUs: number | null;
  metrics: Record<string, number>;
  stalls: { reason: string; pct: number }[];
  bound: string;
  evidence: string[];
  compile?: Record<string, number | null>;
};

/** The latest profile: bound and evidence, metrics, stall bars, compile facts; the profiler agent's bottlenecks. */
export function profileSection(d: NodeDetail): HTMLElement | null {
  const p = d.profiles[d.profiles.length - 1];
  if (!p) return null;
  const o = p.outcome as { status: string; summary?: Profile; reason?: string };
  const body = h("div", {});
  if (o.status !== "ok" || !o.summary) body.append(h("p", { class: "muted" }, `${o.status}: ${o.reason ?? ""}`));
  else {
    const s = o.summary;
    body.append(
      h(
        "p",
        {},
        h("span", { class: `pill bound` }, `${s.bound}-bound`),
        " ",
        h("code", {}, s.kernel),
        ` on ${shapeLabel(s.shape)}`,
        s.durationUs !== null ? ` · ${s.durationUs.toFixed(1)} µs` : "",
      ),
      h("ul", { class: "evidence" }, ...s.evidence.map((e) => h("li", {}, e))),
    );
    const metrics = Object.entries(s.metrics);
    if (metrics.length)
      body.append(
        table(
          ["metric", "value"],
          metrics.map(([k, v]) => [k, Number.isInteger(v) ? num(v) : v.toFixed(2)]),
          "metrics",
        ),
      );
    if (s.stalls.length) {
      body.append(
        h("h4", {}, "Warp stalls"),
        h(
          "div",
          { class: "bars" },
          ...s.stalls.map((x) =>
            h(
              "div",
              { class: "bar" },
              h("span", { class: "bar-label" }, x.reason),
              h("span", { class: "bar-track" }, h("span", { class: "bar-fill", style: `width:${Math.min(100, x.pct)}%` })),
              h("span", { class: "bar-value" }, `${x.pct.toFixed(0)}%`),
            ),
          ),
        ),
      );
    }
    if (s.compile)
      body.append(
        h(
          "p",
          { class: "small muted" },
          Object.entries(s.compile)
            .map(([k, v]) => `${k} ${v ?? "?"}`)
            .join(" · "),
        ),
      );
  }
  if (p.bottlenecks)
    body.append(h("details", { class: "text", open: true }, h("summary", {}, "Bottlenecks (profiler agent)"), structured(p.bottlenecks)));
  return card("profile", "Profile", body);
}

/** The latest critique: verdict, issues, next ideas. */
export function critiqueSection(d: NodeDetail): HTMLElement | null {
  const c = d.critiques[d.critiques.length - 1];
  if (!c) return null;
  return card("critique", "Critique", structured(c.critique), h("span", { class: "pill" }, c.verdict));
}

/** Shows a recorded JSON value readably: lists as bullets, objects as labelled blocks. */
function structured(value: unknown): HTMLElement {
  if (Array.isArray(value)) return h("ul", {}, ...value.map((v) => h("li", {}, typeof v === "object" && v !== null ? structured(v) : String(v))));
  if (value && typeof value === "object") {
    return h(
      "div",
      { class: "kv" },
      ...Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
        .map(([k, v]) =>
          h("div", {}, h("h4", {}, k.replace(/([A-Z])/g, " $1").toLowerCase()), typeof v === "object" ? structured(v) : h("p", {}, String(v))),
        ),
    );
  }
  return h("p", {}, String(value));
}
