/** One node in full for a terminal (`kforge trace RUN --node ID`): plan, prompt, reasoning, kernel, verdict, profile, critique. */
import { ProfileSummary } from "../../tools/profiler/types.ts";
import { summarizeResult, VerifyResult } from "../../tools/verifier/result.ts";
import type { NodeDetail, RunRow } from "../../ui/trace-view.ts";
import { outcomeText } from "./tree-text.ts";
import { formatElapsed, paint } from "./text-style.ts";
import { inertText, inertValue } from "../../core/inert-text.ts";

type Shape = { B: number; H: number; Hkv?: number | undefined; S: number; D: number };

/** "4x16x4096x128" (with "(kv 4)" when grouped-query). */
export function shapeLabel(s: Shape): string {
  return `${s.B}x${s.H}${s.Hkv !== undefined && s.Hkv !== s.H ? `(kv ${s.Hkv})` : ""}x${s.S}x${s.D}`;
}

/** Renders a table with left-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The verifier's result: the summary line, then the per-shape checks and timings. */
export function verifyText(r: VerifyResult): string {
  const out = [summarizeResult(r)];
  if (r.gpu) out.push(`gpu: ${r.gpu}`);
  if (r.worker) out.push(`verified by worker ${r.worker.id} on ${r.worker.host} (job attempt ${r.worker.attempt})`);
  if (r.status === "ok" || r.status === "wrong_output") {
    out.push(
      "",
      table(
        ["shape", "seed", "pass", "max error", "allowance", "worst at"],
        r.checks.map((c) => [
          shapeLabel(c.shape),
          String(c.seed),
          c.passed ? "yes" : "NO",
          c.maxError === null ? "non-finite" : c.maxError.toExponential(2),
          c.allowance.toExponential(2),
          c.worst ? `[${c.worst.index.join(",")}]${c.worst.note ? ` ${c.worst.note}` : ""}` : "",
        ]),
      ),
    );
  }
  if (r.status === "ok" && r.timings.length) {
    const baselines = [...new Set(r.timings.flatMap((t) => Object.keys(t.baselines)))];
    out.push(
      "",
      table(
        ["shape", "ms", "TFLOP/s", ...baselines.map((b) => `${b} ms`), ...baselines.map((b) => `vs ${b}`)],
        r.timings.map((t) => [
          shapeLabel(t.shape),
          t.ms.toFixed(3),
          t.tflops.toFixed(0),
          ...baselines.map((b) => t.baselines[b]?.ms.toFixed(3) ?? "-"),
          ...baselines.map((b) => (t.speedup[b] !== undefined ? `${t.speedup[b]!.toFixed(2)}x` : "-")),
        ]),
      ),
    );
  }
  if (r.status !== "ok" && "message" in r && r.message.includes("\n")) out.push("", r.message.trimEnd());
  if (r.log) out.push("", "log:", r.log.trimEnd());
  out.push(
    "",
    `phases: ${Object.entries(r.phases)
      .map(([k, v]) => `${k.replace(/Ms$/, "")} ${Math.round(v as number)} ms`)
      .join(", ")}`,
  );
  return out.join("\n");
}

/** A profile: the bound with its evidence, metrics and stalls; anything else as recorded. */
export function profileText(outcome: unknown, bottlenecks: unknown = null): string {
  const o = outcome as { status?: unknown; summary?: unknown; reason?: unknown } | null;
  const tail = bottlenecks ? `\n\nbottlenecks (profiler agent):\n${JSON.stringify(bottlenecks, null, 2)}` : "";
  if (o && (o.status === "unavailable" || o.status === "failed")) return `${o.status}: ${String(o.reason ?? "")}${tail}`;
  const p = ProfileSummary.safeParse(o && o.status === "ok" ? o.summary : outcome);
  if (!p.success) return JSON.stringify(outcome, null, 2) + tail;
  const s = p.data;
  const lines = [`${s.kernel} on ${shapeLabel(s.shape)}: ${s.bound}-bound${s.durationUs !== null ? `, ${s.durationUs.toFixed(1)} us` : ""}`];
  for (const e of s.evidence) lines.push(`  - ${e}`);
  const metrics = Object.entries(s.metrics);
  if (metrics.length)
    lines.push(
      "",
      table(
        ["metric", "value"],
        metrics.map(([k, v]) => [k, Number.isInteger(v) ? String(v) : v.toFixed(2)]),
      ),
    );
  if (s.stalls.length) lines.push("", "stalls: " + s.stalls.map((x) => `${x.reason} ${x.pct.toFixed(0)}%`).join(", "));
  if (s.compile)
    lines.push(
      `compile: ${Object.entries(s.compile)
        .map(([k, v]) => `${k} ${v ?? "?"}`)
        .join(", ")}`,
    );
  return lines.join("\n") + tail;
}

/** A critique {verdict, issues, nextIdeas}; anything else as recorded. */
export function critiqueText(critique: unknown): string {
  const c = critique as { verdict?: unknown; issues?: unknown; nextIdeas?: unknown } | null;
  if (!c || typeof c !== "object" || typeof c.verdict !== "string")
    return typeof critique === "string" ? critique : JSON.stringify(critique, null, 2);
  const list = (x: unknown) => (Array.isArray(x) ? x.map((i) => `  - ${typeof i === "string" ? i : JSON.stringify(i)}`) : []);
  return [
    `verdict: ${c.verdict}`,
    ...(Array.isArray(c.issues) && c.issues.length ? ["issues:", ...list(c.issues)] : []),
    ...(Array.isArray(c.nextIdeas) && c.nextIdeas.length ? ["next ideas:", ...list(c.nextIdeas)] : []),
  ].join("\n");
}

/** The plan that proposed the node: its own idea first, then the plan's rationale and sibling ideas. */
export function planText(d: NodeDetail): string {
  const lines = [d.node.title ? `${d.node.title}` : "", d.idea].filter(Boolean);
  const plan = d.plan as { rationale?: unknown; ideas?: { title?: unknown; idea?: unknown }[] } | null;
  if (plan && typeof plan === "object") {
    if (typeof plan.rationale === "string" && plan.rationale) lines.push("", `rationale: ${plan.rationale}`);
    if (Array.isArray(plan.ideas) && plan.ideas.length > 1) {
      lines.push(
        "",
        "the plan's ideas:",
        ...plan.ideas.map((i) => `  ${i.title === d.node.title ? "*" : "-"} ${String(i.title ?? "")}${i.idea ? `: ${String(i.idea)}` : ""}`),
      );
    }
  }
  return lines.join("\n") || "(none recorded)";
}

/** The latest verification as a typed result (null when none, or when it does not parse). */
export function latestVerify(d: NodeDetail): VerifyResult | null {
  const v = d.verifications[d.verifications.length - 1];
  const parsed = v ? VerifyResult.safeParse(v.result) : null;
  return parsed?.success ? parsed.data : null;
}

/** One line per failed attempt of a call: why it failed and how long the client waited before the next. */
export function retryLines(retries: NodeDetail["llmCalls"][number]["retries"]): string[] {
  return retries.map(
    (r) =>
      `  attempt ${r.attempt} failed: ${r.errorClass}${r.status !== undefined && !r.errorClass.includes(String(r.status)) ? ` (HTTP ${r.status})` : ""}: ${r.message}${r.delayMs !== undefined ? `; retried after ${(r.delayMs / 1000).toFixed(1)} s` : ""}`,
  );
}

/** The whole node, section by section. */
export function renderNodeDetail(recorded: NodeDetail, given: RunRow, opts: { color: boolean; labelOf?: (id: string) => string }): string {
  // Every recorded text may come from a model, a server or a kernel: inert before it reaches a terminal.
  const [d, run] = [inertValue(recorded), inertValue(given)];
  const label = (id: string) => inertText(opts.labelOf ? opts.labelOf(id) : id);
  const n = d.node;
  const h = (title: string) => `\n${paint(opts.color, "bold", `== ${title} ${"=".repeat(Math.max(0, 60 - title.length))}`)}`;
  const out = [
    `${paint(opts.color, "bold", `node ${n.label}`)} (${n.id})  run ${n.runId}  depth ${n.depth}  parent ${n.parentId ? label(n.parentId) : "-"}  ${formatElapsed(n.createdAt - run.startedAt)}  origin ${n.origin}`,
    `outcome: ${outcomeText(n)}`,
    d.children.length ? `children: ${d.children.map(label).join(", ")}` : "children: none",
    h("plan"),
    planText(d),
  ];
  if (d.seeds.length) {
    out.push(
      h("seeded from memory"),
      ...d.seeds.map((s) => `#${s.winId} (rank ${s.rank + 1}${s.score !== null ? `, relevance ${s.score.toFixed(2)}` : ""}): ${s.note}`),
    );
  }
  for (const c of d.llmCalls) {
    const meta = [
      c.provider,
      c.model,
      `${c.promptTokens}+${c.completionTokens} tokens`,
      `${(c.latencyMs / 1000).toFixed(1)} s`,
      `$${c.costUsd.toFixed(4)}`,
      c.attempts > 1 ? `${c.attempts} attempts` : "",
      c.error ? `error: ${c.error}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    out.push(h(`${c.role}: prompt`), `(${meta})`);
    if (c.retries.length) out.push(...retryLines(c.retries));
    out.push((c.prompt ?? "").trimEnd());
    if (c.reasoning) out.push(h(`${c.role}: reasoning`), c.reasoning.trimEnd());
    out.push(h(`${c.role}: response`), (c.response ?? "(none)").trimEnd());
  }
  out.push(h("kernel"), d.kernel?.trimEnd() ?? "(no kernel)");
  const v = d.verifications[d.verifications.length - 1];
  const typed = latestVerify(d);
  out.push(h("verifier result"), typed ? verifyText(typed) : v ? JSON.stringify(v.result, null, 2) : "(not verified)");
  const p = d.profiles[d.profiles.length - 1];
  out.push(h("profile"), p ? profileText(p.outcome, p.bottlenecks) : "(not profiled)");
  const c = d.critiques[d.critiques.length - 1];
  out.push(h("critique"), c ? critiqueText(c.critique) : "(no critique)");
  if (d.events.length) out.push(h("events"), ...d.events.map((e) => `${new Date(e.createdAt).toISOString()}  ${e.kind}: ${e.message}`));
  return out.join("\n");
}
