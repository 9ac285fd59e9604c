/**
 * Real candidate modules for the CPU test problem (test/fixtures/problems/cpu_tiny: causal soft-capped
 * attention, PyTorch allowed on the CPU), one per fate the scripted model hands out: good, slow,
 * wrong, broken. `cpuKernel` plugs into script.ts's `kernelModel({ kernel })`.
 */
import type { RecordedRequest, ScriptedReply } from "../../tools/scripted-server/server.ts";

const GOOD = `import torch

def attention(q, k, v, *, scale, cap, **params):
    B, H, S, D = q.shape
    rep = H // k.shape[1]
    k = k.float().repeat_interleave(rep, dim=1)
    v = v.float().repeat_interleave(rep, dim=1)
    s = (q.float() @ k.transpose(-1, -2)) * scale
    s = cap * torch.tanh(s / cap)
    causal = torch.ones(S, S, dtype=torch.bool).tril()
    s = s.masked_fill(~causal, float("-inf"))
    return (torch.softmax(s, dim=-1) @ v).to(q.dtype)
`;

// Correct but slow: one (b, h, query row) at a time.
const SLOW = `import torch

def attention(q, k, v, *, scale, cap, **params):
    B, H, S, D = q.shape
    rep = H // k.shape[1]
    out = torch.empty(B, H, S, D, dtype=torch.float32)
    for b in range(B):
        for h in range(H):
            kk = k[b, h // rep].float()
            vv = v[b, h // rep].float()
            for i in range(S):
                s = (kk[: i + 1] @ q[b, h, i].float()) * scale
                s = cap * torch.tanh(s / cap)
                out[b, h, i] = torch.softmax(s, dim=0) @ vv[: i + 1]
    return out.to(q.dtype)
`;

// Forgets the causal mask: every query row but the last is wrong.
const WRONG = GOOD.replace('    s = s.masked_fill(~causal, float("-inf"))\n', "");

const BROKEN = `import torch

def attention(q, k, v, *, scale, cap, **params)
    return q
`;

/** The module for a fate: "good"/"ok ...", "slow", "wrong"/"wrong_output ...", "broken"/"compile_error". */
export function cpuKernel(fate: string, title: string): string {
  const kind = fate.split(" ")[0]!;
  const body =
    kind === "slow" ? SLOW : kind === "wrong" || kind === "wrong_output" ? WRONG : kind === "broken" || kind === "compile_error" ? BROKEN : GOOD;
  return `# ${title}\n${body}`;
}

/**
 * A scripted model for a short CPU search: the planner proposes two ideas, the coder writes a correct CPU module
 * (titled `title`), the critic calls every candidate promising.
 */
export function twoIdeaCpuModel(title: string): (req: RecordedRequest) => ScriptedReply {
  return (req) => {
    if (req.role === "planner") {
      const ideas = [1, 2].map((i) => ({ title: `idea ${i}`, idea: `write the kernel, take ${i}` }));
      return { content: `\`\`\`json\n${JSON.stringify({ rationale: "two takes", ideas })}\n\`\`\`` };
    }
    if (req.role === "coder") return { content: `\`\`\`python\n${cpuKernel("good", title)}\`\`\`\n` };
    if (req.role === "critic") {
      const labels = /Judge every candidate \(([^)]*)\)/.exec(req.lastUser)?.[1]?.split(", ") ?? [];
      const critiques = labels.map((node) => ({ node, verdict: "promising", issues: [], nextIdeas: [], keyIdeas: [] }));
      return { content: `\`\`\`json\n${JSON.stringify({ critiques })}\n\`\`\`` };
    }
    return { content: "```json\n{}\n```" };
  };
}
