/**
 * A scripted model for KernelBench searches on the CPU lane: the planner proposes ideas whose title names the
 * candidate fixture the coder answers with (test/fixtures/kernelbench/candidates), chosen by the problem in the prompt;
 * the critic judges every label it is asked about. Deterministic, so a resumed search sees what a killed one would have.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest, ScriptedReply } from "../../tools/scripted-server/server.ts";
import { ROOT } from "../verifier/helpers.ts";

const CANDIDATES = join(ROOT, "test", "fixtures", "kernelbench", "candidates");

/** Per problem name, the fixtures the coder writes, in the order the planner proposes them. */
export const KB_PLANS: Record<string, string[]> = {
  kb_l1_19_relu: ["identity_relu.py", "good_relu.py"],
  kb_l1_23_row_softmax: ["good_softmax.py", "naive_softmax.py"],
  kb_l1_94_mean_squared_error: ["mse_analytical.py", "mse_partial.py"],
  kb_l1_1_square_matmul: ["good_matmul.py", "bf16_matmul.py"],
};

/** The handler for startScriptedServer; `delayMs` slows every reply (so a kill lands mid-search). */
export function kernelBenchModel(opts: { delayMs?: number } = {}) {
  const base: ScriptedReply = { reasoning: "thinking about the module...", ...(opts.delayMs ? { delayMs: opts.delayMs } : {}) };
  return (req: RecordedRequest): ScriptedReply => {
    const firstUser = req.messages.find((m) => m.role === "user")?.content ?? "";
    const name = /^# Problem: (\S+)/m.exec(firstUser)?.[1] ?? "";
    if (req.role === "planner") {
      const count = Number(/propose (\d+) DISTINCT/.exec(req.system)?.[1] ?? 2);
      const files = KB_PLANS[name] ?? [];
      const ideas = Array.from({ length: count }, (_, i) => ({ title: `write ${files[i % files.length]}`, idea: `Candidate ${i} for ${name}.` }));
      return { ...base, content: `\`\`\`json\n${JSON.stringify({ rationale: "scripted", ideas })}\n\`\`\`` };
    }
    if (req.role === "coder") {
      const file = /\*\*write (\S+\.py)\*\*/.exec(firstUser)?.[1];
      if (!file) return { ...base, content: "no idea what to write" };
      return { ...base, content: `Here is ModelNew.\n\n\`\`\`python\n${readFileSync(join(CANDIDATES, file), "utf8")}\`\`\`\n` };
    }
    if (req.role === "critic") {
      const labels = /Judge every candidate \(([^)]*)\)/.exec(req.lastUser)?.[1]?.split(", ") ?? [];
      const critiques = labels.map((node) => ({
        node,
        verdict: "promising",
        issues: [],
        nextIdeas: ["fuse more"],
        keyIdeas: ["one pass over the rows"],
      }));
      return { ...base, content: `\`\`\`json\n${JSON.stringify({ critiques })}\n\`\`\`` };
    }
    return { ...base, content: "```json\n{}\n```" };
  };
}
