/** A critique derived from the verifier's result alone: the fallback when the critic's reply is unusable, and the offline critic. */
import type { NodeView } from "../types.ts";
import type { Critique } from "./schema.ts";

/** Judges one candidate by its verification and the run's best speedup before it. */
export function ruleCritique(view: NodeView, bestBefore: number | null): Critique {
  const v = view.verification;
  const base = { issues: [] as string[], nextIdeas: [] as string[], keyIdeas: [] as string[], source: "rules" as const };
  if (!v)
    return {
      ...base,
      verdict: "dead_end",
      issues: [view.row.summary || "no kernel was produced"],
      nextIdeas: ["write a complete module in one python block"],
    };
  switch (v.status) {
    case "ok": {
      const s = v.speedup ?? 0;
      const isBest = bestBefore === null || s > bestBefore;
      return {
        ...base,
        verdict: isBest ? "new_best" : s >= 0.8 * (bestBefore ?? s) ? "promising" : "dead_end",
        issues: s < 1 ? [`slower than the baseline (${s.toFixed(2)}x)`] : [],
        nextIdeas: ["retune tile sizes, warps and stages", "skip fully masked blocks"],
        keyIdeas: isBest && view.row.title ? [view.row.title] : [],
      };
    }
    case "wrong_output": {
      const ratios = v.checks.filter((c) => !c.passed).map((c) => (c.maxError === null ? Infinity : c.maxError / Math.max(c.allowance, 1e-12)));
      const worst = ratios.length ? Math.max(...ratios) : Infinity;
      return {
        ...base,
        verdict: worst < 10 ? "promising" : "fixable",
        issues: [v.message],
        nextIdeas: ["fix the masking / tail handling where the error concentrates", "accumulate in float32"],
      };
    }
    case "compile_error":
      return { ...base, verdict: "fixable", issues: [v.message.split("\n")[0] ?? v.message], nextIdeas: ["fix the compile error"] };
    case "runtime_error":
      return {
        ...base,
        verdict: "fixable",
        issues: [v.message.split("\n")[0] ?? v.message],
        nextIdeas: ["check bounds and strides of every load/store"],
      };
    case "timeout":
      return { ...base, verdict: "dead_end", issues: [`timed out in ${v.phase}`], nextIdeas: ["check loop bounds for a hang"] };
    case "rejected":
      return { ...base, verdict: "dead_end", issues: [`rejected by ${v.rule}: ${v.message}`], nextIdeas: ["do the work in the module's own kernel"] };
  }
}
