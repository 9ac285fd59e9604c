/**
 * Real feedback, worded for a model: what the verifier, the profiler and the critic said about a
 * node, with the numbers (compiler message, failing shapes, error sizes and where, timings vs
 * baseline). Every prompt builds its node sections here so all agents see the same facts.
 */
import type { VerifyResult, ShapeCheck } from "../tools/verifier/result.ts";
import type { ProfileSummary } from "../tools/profiler/types.ts";
import type { Bottlenecks, Critique, Exemplar, NodeView } from "./types.ts";
import { fmtShape } from "./contract.ts";
import { FEEDBACK_ERROR_CHARS, FEEDBACK_LOG_CHARS } from "../core/limits.ts";

/** Keeps the head and tail of a long text (errors matter at both ends). */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6);
  return `${text.slice(0, head)}\n... [${text.length - max} characters cut] ...\n${text.slice(text.length - (max - head))}`;
}

/** The verifier's verdict in full detail. */
export function describeVerification(r: VerifyResult): string {
  const lines: string[] = [];
  switch (r.status) {
    case "ok": {
      lines.push(
        `CORRECT on every correctness shape. Speedup vs baseline (geomean): ${r.speedup === null ? "not timed" : `${r.speedup.toFixed(3)}x`}, ${r.tflops === null ? "" : `${r.tflops.toFixed(1)} TFLOP/s`}.`,
      );
      for (const t of r.timings) {
        const base = Object.entries(t.baselines)
          .map(([n, b]) => `${n} ${b.ms.toFixed(3)} ms`)
          .join(", ");
        const sp = Object.entries(t.speedup)
          .map(([n, s]) => `${s.toFixed(2)}x vs ${n}`)
          .join(", ");
        const missing = Object.entries(t.unavailable ?? {})
          .map(([n, why]) => `; ${n} not timed: ${why}`)
          .join("");
        lines.push(
          `  ${t.case ?? fmtShape(t.shape)}: ${t.ms.toFixed(3)} ms, ${t.tflops.toFixed(1)} TFLOP/s (${base}; ${sp})${t.spread !== undefined ? `, spread ${(t.spread * 100).toFixed(0)}%` : ""}${missing}`,
        );
      }
      const tight = r.checks.reduce((m, c) => Math.max(m, c.maxError !== null && c.allowance > 0 ? c.maxError / c.allowance : 0), 0);
      if (tight > 0.5) lines.push(`  (accuracy margin is thin: worst error is ${(tight * 100).toFixed(0)}% of the allowance)`);
      break;
    }
    case "compile_error":
      lines.push(`COMPILE ERROR${r.line !== undefined ? ` at line ${r.line}` : ""}:`, indent(clip(r.message, FEEDBACK_ERROR_CHARS)));
      break;
    case "runtime_error":
      lines.push(
        `RUNTIME ERROR${r.kind ? ` (${r.kind})` : ""}${r.shape ? ` on ${fmtShape(r.shape)}` : ""}:`,
        indent(clip(r.message, FEEDBACK_ERROR_CHARS)),
      );
      break;
    case "wrong_output": {
      lines.push(`WRONG OUTPUT: ${r.message}`);
      lines.push(...describeChecks(r.checks));
      break;
    }
    case "timeout":
      lines.push(`TIMEOUT during ${r.phase} after ${r.limitS}s (a hang, an infinite loop, or far too slow).`);
      break;
    case "rejected":
      lines.push(`REJECTED by anti-cheat rule ${r.rule}${r.line !== undefined ? ` (line ${r.line})` : ""}: ${r.message}`);
      break;
  }
  if (r.status !== "ok" && r.log) lines.push("Captured output (truncated):", indent(clip(r.log, FEEDBACK_LOG_CHARS)));
  return lines.join("\n");
}

/** Per-shape lines of the correctness checks: which failed, by how much, and where. */
export function describeChecks(checks: ShapeCheck[]): string[] {
  const out: string[] = [];
  for (const c of checks.slice(0, 12)) {
    const err =
      c.maxError === null
        ? "non-finite output"
        : `max error ${c.maxError.toExponential(2)} vs allowance ${c.allowance.toExponential(2)}${c.allowance > 0 ? ` (${(c.maxError / c.allowance).toFixed(1)}x)` : ""}`;
    const at = c.case ? "at index" : "at [b,h,q,d]=";
    const where = c.worst
      ? `; worst ${at}[${c.worst.index.join(",")}] got ${c.worst.got ?? "non-finite"} expected ${c.worst.expected}${c.worst.note ? ` — ${c.worst.note}` : ""}`
      : "";
    // A KernelBench check names its inputs and distribution (its shape only counts output elements).
    const rules = c.rules
      ? ` (KernelBench allclose ${c.rules.kernelbench ? "held" : "failed"}, kforge's error budget ${c.rules.kforge ? "held" : "failed"})`
      : "";
    out.push(`  ${c.passed ? "pass" : "FAIL"} ${c.case ?? fmtShape(c.shape)} seed ${c.seed}: ${err}${where}${rules}`);
  }
  if (checks.length > 12) out.push(`  ... ${checks.length - 12} more checks`);
  return out;
}

/** A profile summary in words and numbers. */
export function describeProfile(p: ProfileSummary): string {
  const metrics = Object.entries(p.metrics)
    .slice(0, 24)
    .map(([k, v]) => `${k}=${round(v)}`)
    .join(", ");
  const stalls = p.stalls
    .slice(0, 6)
    .map((s) => `${s.reason} ${s.pct.toFixed(0)}%`)
    .join(", ");
  const c = p.compile;
  return [
    `Nsight Compute on kernel ${p.kernel}, ${fmtShape(p.shape)}${p.durationUs !== null ? `, ${p.durationUs.toFixed(1)} us` : ""}: ${p.bound.toUpperCase()} bound.`,
    ...p.evidence.map((e) => `  - ${e}`),
    `  metrics: ${metrics}`,
    stalls ? `  warp stalls: ${stalls}` : "",
    c
      ? `  compile: registers ${c.registers ?? "?"}, spills ${c.spills ?? "?"}, shared ${c.sharedBytes ?? "?"} B, warps ${c.numWarps ?? "?"}, stages ${c.numStages ?? "?"}`
      : "",
  ]
    .filter(Boolean)
    .join("\n");
}

/** The profiler agent's advice. */
export function describeBottlenecks(b: Bottlenecks): string {
  return [
    b.summary,
    ...b.bottlenecks.map(
      (x) =>
        `  - ${x.issue}${x.evidence ? ` (${x.evidence})` : ""}${x.unverified?.length ? ` [not in the profile: ${x.unverified.join(", ")}]` : ""} → ${x.suggestion}`,
    ),
  ]
    .filter(Boolean)
    .join("\n");
}

/** The critic's verdict. */
export function describeCritique(c: Critique): string {
  return [
    `verdict: ${c.verdict}`,
    ...c.issues.map((i) => `  issue: ${i}`),
    ...c.nextIdeas.map((i) => `  next: ${i}`),
    ...c.keyIdeas.map((i) => `  key idea: ${i}`),
  ].join("\n");
}

/** A full section about one node: its idea, kernel (optional), verifier result, profile, critique. */
export function describeNode(v: NodeView, opts: { kernel: boolean; maxKernel?: number }): string {
  const parts = [`### Node ${v.row.label}${v.row.title ? `: ${v.row.title}` : ""}`];
  if (v.idea) parts.push(`Idea: ${clip(v.idea, FEEDBACK_LOG_CHARS)}`);
  if (opts.kernel && v.kernel) parts.push("Kernel:", "```python", clip(v.kernel, opts.maxKernel ?? 24000).trimEnd(), "```");
  if (v.verification) parts.push("Verifier:", describeVerification(v.verification));
  else if (v.row.status === "no_kernel" || v.row.status === "failed") parts.push(`No kernel: ${v.row.summary}`);
  if (v.profile?.summary) parts.push("Profile:", describeProfile(v.profile.summary));
  else if (v.profile?.note) parts.push(`Profile: ${v.profile.note}`);
  if (v.profile?.bottlenecks) parts.push("Profiler advice:", describeBottlenecks(v.profile.bottlenecks));
  if (v.critique) parts.push("Critique:", describeCritique(v.critique));
  return parts.join("\n");
}

/** Prior wins from the memory, with their ideas, numbers and (clipped) kernels. */
export function describeExemplars(exemplars: Exemplar[], maxKernel = 8000): string {
  if (exemplars.length === 0) return "(none: no related verified wins in memory yet)";
  return exemplars
    .map((e, i) =>
      [
        `### Prior win ${i + 1}: ${e.problem}, ${e.speedup.toFixed(2)}x${e.tflops !== null ? `, ${e.tflops.toFixed(0)} TFLOP/s` : ""}${e.gpu ? ` on ${e.gpu}` : ""} (${e.why})`,
        ...e.keyIdeas.map((k) => `  - ${k}`),
        "```python",
        clip(e.source, maxKernel).trimEnd(),
        "```",
      ].join("\n"),
    )
    .join("\n\n");
}

function indent(s: string): string {
  return s
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2);
}
