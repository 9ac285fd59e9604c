/** A VerifyResult as a terminal report: per shape error vs allowance, timings and speedups, phases. */
import type { ShapeCheck, ShapeTiming, VerifyResult } from "./result.ts";
import { summarizeResult } from "./result.ts";

const shapeLabel = (s: { B: number; H: number; Hkv: number; S: number; D: number }) => `${s.B}x${s.H}x${s.Hkv}x${s.S}x${s.D}`;
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? "non-finite" : x.toExponential(digits - 1));

/** The whole report; `title` names the problem and kernel. */
export function renderReport(r: VerifyResult, title: string): string {
  const lines = [
    title,
    `result: ${summarizeResult(r)}${r.gpu ? `   (${r.gpu})` : ""}${r.worker ? `   worker ${r.worker.id} on ${r.worker.host}` : ""}`,
  ];
  if (r.status !== "ok") lines.push("", ...detail(r));
  if (r.status === "ok" || r.status === "wrong_output") lines.push("", ...checksTable(r.checks));
  if (r.status === "ok" && r.timings.length) lines.push("", ...timingTable(r.timings));
  lines.push("", phasesLine(r));
  if (r.log?.trim())
    lines.push(
      "",
      "kernel output (tail):",
      ...r.log
        .trimEnd()
        .split("\n")
        .slice(-15)
        .map((l) => `  ${l}`),
    );
  return lines.join("\n");
}

function detail(r: Exclude<VerifyResult, { status: "ok" }>): string[] {
  switch (r.status) {
    case "compile_error":
      return [`compile error${r.line ? ` (line ${r.line})` : ""}:`, ...indent(r.message)];
    case "runtime_error":
      return [`runtime error${r.kind ? ` [${r.kind}]` : ""}${r.shape ? ` at shape ${shapeLabel(r.shape)}` : ""}:`, ...indent(r.message)];
    case "wrong_output":
      return indent(r.message);
    case "timeout":
      return [`killed after ${r.limitS}s in the ${r.phase} phase`];
    case "rejected":
      return [`rule ${r.rule}${r.line ? ` (line ${r.line})` : ""}:`, ...indent(r.message)];
  }
}

function checksTable(checks: ShapeCheck[]): string[] {
  const rows = checks.map((c) => [shapeLabel(c.shape), String(c.seed), num(c.maxError), num(c.allowance), c.passed ? "ok" : "FAIL"]);
  const out = table(["shape BxHxHkvxSxD", "seed", "max error", "allowance", ""], rows);
  const worst = checks
    .filter((c) => c.worst)
    .map(
      (c) =>
        `  ${shapeLabel(c.shape)} seed ${c.seed}: worst at [b,h,q,d]=[${c.worst?.index.join(",")}] got ${c.worst?.got ?? "non-finite"} expected ${c.worst?.expected}${c.worst?.note ? ` — ${c.worst.note}` : ""}`,
    );
  return ["correctness (pass when max error <= allowance = 2 x the bf16 reference's error + atol):", ...out, ...worst.slice(0, 5)];
}

function timingTable(timings: ShapeTiming[]): string[] {
  const names = [...new Set(timings.flatMap((t) => Object.keys(t.baselines)))];
  const rows = timings.map((t) => [
    shapeLabel(t.shape),
    t.ms.toFixed(3),
    t.tflops.toFixed(t.tflops < 10 ? 3 : 0),
    ...names.map((n) => (t.baselines[n] ? `${t.baselines[n].ms.toFixed(3)} ms ${(t.speedup[n] ?? 0).toFixed(2)}x` : "-")),
    String(t.runs),
  ]);
  return ["timing (median; speedup = baseline ms / kernel ms):", ...table(["shape", "kernel ms", "TFLOP/s", ...names, "runs"], rows)];
}

function phasesLine(r: VerifyResult): string {
  const order = ["startMs", "staticMs", "importMs", "compileMs", "correctnessMs", "timingMs", "totalMs"] as const;
  const parts = order.filter((k) => r.phases[k] !== undefined).map((k) => `${k.slice(0, -2)} ${((r.phases[k] ?? 0) / 1000).toFixed(2)}s`);
  return `phases: ${parts.join(" · ")}`;
}

function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: string[]) => `  ${r.map((c, i) => c.padEnd(w[i] ?? 0)).join("  ")}`.trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

function indent(s: string): string[] {
  return s
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`);
}
