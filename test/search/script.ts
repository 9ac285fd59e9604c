/**
 * A scripted "model" for whole searches: a handler for the scripted OpenAI-compatible server that
 * answers each agent by what its prompt says, deterministically (the same request gets the same
 * reply, so a resumed run sees what the killed one would have). Ideas carry their fate in the
 * title, e.g. "tile 64 [ok 1.3]"; the coder turns that into a kernel the verifier judges.
 */
import type { RecordedRequest, ScriptedReply } from "../../tools/scripted-server/server.ts";

/** One planned fate: a verdict the verifier should reach ("ok 1.3", "compile_error", "no_code", ...). */
export type Fate = string;

export interface KernelModelOptions {
  /** Fates handed out to ideas, cycled by a hash of the planner's prompt. */
  fates: Fate[];
  /** Turns a fate into a kernel module's source (the verdict-line kernels by default). */
  kernel?: (fate: Fate, title: string) => string;
  /** Delay before each reply (ms), so kills land mid-call. */
  delayMs?: number;
  /** Hand fates out in order across plans (every fate shows up) instead of by a hash of the prompt. */
  sequential?: boolean;
  /** Characters per SSE chunk (large = few chunks: the benchmark keeps model streaming out of its numbers). */
  chunkChars?: number;
}

/** The default kernel: a module whose verdict line the instant verifier reads. */
export function verdictKernel(fate: Fate, title: string): string {
  return `# ${title}\n# verdict: ${fate}\nimport torch\n\ndef attention(q, k, v, *, scale, **params):\n    return torch.empty_like(q)\n`;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

const FORMS: ScriptedReply["reasoningAs"][] = ["reasoning_content", "reasoning", "think"];

/** The handler: planner → ideas with fates, coder → kernels (in varied reply forms), critic → verdicts, profiler → bottlenecks. */
export function kernelModel(opts: KernelModelOptions) {
  const kernel = opts.kernel ?? verdictKernel;
  let handedOut = 0;
  return (req: RecordedRequest): ScriptedReply => {
    const h = hash(req.lastUser);
    const reasoningAs = FORMS[h % FORMS.length];
    const base = {
      reasoningAs,
      reasoning: `Let me think about ${req.role}... (${h % 1000})`,
      ...(opts.delayMs ? { delayMs: opts.delayMs } : {}),
      ...(opts.chunkChars ? { chunkChars: opts.chunkChars } : {}),
    };
    if (req.role === "planner") {
      const count = Number(/propose (\d+) DISTINCT/.exec(req.system)?.[1] ?? 4);
      const ideas = Array.from({ length: count }, (_, i) => {
        const fate = opts.fates[(opts.sequential ? handedOut++ : h + i) % opts.fates.length]!;
        return { title: `idea ${h % 97}-${i} [${fate}]`, idea: `Change number ${i}; expected: ${fate}.` };
      });
      return { ...base, content: `Here is my plan.\n\n\`\`\`json\n${JSON.stringify({ rationale: "scripted", ideas })}\n\`\`\`` };
    }
    if (req.role === "coder") {
      const firstUser = req.messages.find((m) => m.role === "user")?.content ?? "";
      const title = /\*\*(.+?)\*\*/.exec(firstUser)?.[1] ?? "untitled";
      const fate = /\[([^\]]+)\]\s*$/.exec(title)?.[1] ?? "ok 1.0";
      if (fate === "no_code" && !/Your previous answer/.test(req.lastUser))
        return { ...base, content: "I would restructure the loops, but here is only prose." };
      if (fate === "no_code_ever") return { ...base, content: "Still only prose, no code." };
      const src = kernel(fate === "no_code" ? "ok 1.05" : fate, title);
      return {
        ...base,
        content: `Here is the kernel:\n\n\`\`\`python\n${src}\`\`\`\n\nUsage:\n\`\`\`python\nout = attention(q, k, v, scale=0.1)\n\`\`\``,
      };
    }
    if (req.role === "critic") {
      const labels = /Judge every candidate \(([^)]*)\)/.exec(req.lastUser)?.[1]?.split(", ") ?? [];
      const critiques = labels.map((node, i) => ({
        node,
        verdict: i % 2 ? "promising" : "fixable",
        issues: [`issue of ${node}`],
        nextIdeas: [`next for ${node}`],
        keyIdeas: [`key of ${node}`],
      }));
      return { ...base, content: `\`\`\`json\n${JSON.stringify({ critiques })}\n\`\`\`` };
    }
    return {
      ...base,
      content: `\`\`\`json\n${JSON.stringify({ summary: "memory bound", bottlenecks: [{ issue: "low tensor use", evidence: "tensor 20%", suggestion: "bigger tiles" }] })}\n\`\`\``,
    };
  };
}
