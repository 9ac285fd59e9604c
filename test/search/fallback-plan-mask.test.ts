/**
 * The planner's fallback plan (an unusable planner reply) offers "Skip masked work" only to a problem that masks keys:
 * attention without a mask_mod has no masked block to skip. Whether a problem masks keys comes from its spec: a suite
 * problem's reference.py (make_mask_mod returns a mask, or only None), a variant's spec.variant.mask. On both devices,
 * for the whole suite, for variants made by `kforge problems new` (child processes, the sandboxed harness), and through
 * `kforge search` as a child process against a scripted model whose planner only answers prose: the ideas the coder is
 * asked for and `kforge trace` on a mask-free CPU problem and a mask-free CPU variant, and on cpu_tiny (causal).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fallbackPlan, hasMask } from "../../agents/planner/node.ts";
import type { PlanInput } from "../../agents/types.ts";
import { listProblemNames, loadProblem, problemsDir } from "../../problems/load.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { startScriptedServer, type RecordedRequest, type ScriptedReply, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { searchOnFallback } from "./fallback-search.ts";

const SKIP = "Skip masked work";
/** The suite problems whose reference has a mask_mod, and those without one. */
const MASKED = ["alibi_causal", "causal", "document", "natten_2d", "prefix_lm", "sliding_window", "softcap_causal"];
const UNMASKED = ["alibi", "full", "gqa", "relpos", "softcap"];

/** A correct CPU module for soft-capped attention over every key (no mask). */
const NO_MASK_KERNEL = `import torch

def attention(q, k, v, *, scale, **params):
    rep = q.shape[1] // k.shape[1]
    k = k.float().repeat_interleave(rep, dim=1)
    v = v.float().repeat_interleave(rep, dim=1)
    s = (q.float() @ k.transpose(-1, -2)) * scale
    s = 30 * torch.tanh(s / 30)
    return (torch.softmax(s, dim=-1) @ v).to(q.dtype)
`;

const input = (problem: LoadedProblem, mode: PlanInput["mode"]) => ({ problem, mode, count: 8 }) as unknown as PlanInput;
const titles = (problem: LoadedProblem, mode: PlanInput["mode"]) => fallbackPlan(input(problem, mode), "unusable").ideas.map((i) => i.title);
const text = (problem: LoadedProblem, mode: PlanInput["mode"]) =>
  fallbackPlan(input(problem, mode), "unusable")
    .ideas.map((i) => `${i.title}: ${i.idea}`)
    .join("\n");

describe("the planner's fallback offers masked-work skipping only to problems with a mask", () => {
  let server: ScriptedServer;
  let kernel = NO_MASK_KERNEL;
  let dir: string;
  let home: string;
  /** cpu_tiny without its causal mask: soft-capped attention over every key, on the CPU lane. */
  let cpuNoMask: string;
  beforeAll(async () => {
    // The planner answers prose only, so every plan is the fallback; the coder writes `kernel`.
    server = await startScriptedServer((req: RecordedRequest): ScriptedReply => {
      if (req.role === "planner") return { content: "Several ideas come to mind, but no JSON today." };
      if (req.role === "coder") return { content: `\`\`\`python\n${kernel}\`\`\`\n` };
      if (req.role === "critic") {
        const labels = /Judge every candidate \(([^)]*)\)/.exec(req.lastUser)?.[1]?.split(", ") ?? [];
        const critiques = labels.map((node) => ({ node, verdict: "promising", issues: [], nextIdeas: [], keyIdeas: [] }));
        return { content: `\`\`\`json\n${JSON.stringify({ critiques })}\n\`\`\`` };
      }
      return { content: "```json\n{}\n```" };
    });
    dir = mkdtempSync(join(tmpdir(), "kforge-fallback-mask-"));
    home = join(dir, "home");
    mkdirSync(home);
    cpuNoMask = join(dir, "cpu_nomask");
    cpSync(CPU_TINY, cpuNoMask, { recursive: true });
    const spec = JSON.parse(readFileSync(join(cpuNoMask, "problem.json"), "utf8"));
    writeFileSync(
      join(cpuNoMask, "problem.json"),
      JSON.stringify({ ...spec, name: "cpu_nomask", description: "test problem: soft-capped attention, no mask, on the CPU", tags: ["softcap"] }),
    );
    const ref = readFileSync(join(cpuNoMask, "reference.py"), "utf8")
      .replace(/^""".*"""$/m, '"""Test problem: attention with tanh soft-capping over every key, small enough for a CPU."""')
      .replace(/def make_mask_mod\(\*\*_\):[\s\S]*?return causal\n/, 'def make_mask_mod(**_):\n    """No mask."""\n    return None\n')
      .replace(/ {4}n = q\.shape\[-2\]\n.*\n.*masked_fill.*\n/, "");
    expect(ref).not.toMatch(/causal|masked_fill/);
    writeFileSync(join(cpuNoMask, "reference.py"), ref);
    writeFileSync(join(cpuNoMask, "prompt.md"), "# Soft-capped attention on the CPU, no mask (`cpu_nomask`)\n\nEvery query sees every key.\n");
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every suite problem on a GPU: offered where the reference has a mask_mod, never where it has none", () => {
    expect([...MASKED, ...UNMASKED].sort()).toEqual(listProblemNames(problemsDir()));
    for (const name of [...MASKED, ...UNMASKED]) {
      const p = loadProblem(name);
      expect(p.spec.device).toBe("cuda");
      const masked = MASKED.includes(name);
      expect(hasMask(p), name).toBe(masked);
      for (const mode of ["fresh", "improve", "repair"] as const) {
        if (masked) expect(titles(p, mode), `${name} ${mode}`).toContain(SKIP);
        else expect(text(p, mode), `${name} ${mode}`).not.toMatch(/mask/i);
      }
      // The rest of the GPU ideas stay.
      expect(text(p, "improve")).toMatch(/num_warps and num_stages/);
    }
  });

  it("on the CPU lane: cpu_tiny (causal) is offered it; the same problem without its mask is not, nor told of a mask", () => {
    const withMask = loadProblem(CPU_TINY);
    const without = loadProblem(cpuNoMask);
    expect([hasMask(withMask), hasMask(without)]).toEqual([true, false]);
    for (const mode of ["fresh", "improve", "repair"] as const) {
      expect(titles(withMask, mode)).toContain(SKIP);
      expect(text(without, mode)).not.toMatch(/mask/i);
    }
    expect(titles(without, "improve")).toEqual(["Batch heads into one matmul", "Fewer temporaries", "Fewer dtype casts and copies"]);
    expect(text(without, "improve")).toContain("Fewer temporaries: Apply the score modification in one pass over the scores");
  });

  it("variants made by kforge problems new: spec.variant.mask decides, on either device", async () => {
    const env = kforgeEnv(home, server.baseUrl);
    const scoreOnly = join(dir, "capped.py");
    writeFileSync(scoreOnly, "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return 30 * torch.tanh(score / 30)\n");
    const both = join(dir, "capped_causal.py");
    writeFileSync(
      both,
      "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return 30 * torch.tanh(score / 30)\n\n" +
        "def mask_mod(b, h, q_idx, kv_idx):\n    return q_idx >= kv_idx\n",
    );
    const made: [string, string[], boolean][] = [
      ["v_cpu_nomask", ["--score-mod", scoreOnly, "--device", "cpu"], false],
      ["v_cpu_mask", ["--score-mod", both, "--mask-mod", both, "--device", "cpu"], true],
      ["v_gpu_nomask", ["--score-mod", scoreOnly], false],
      ["v_gpu_mask", ["--score-mod", both, "--mask-mod", both], true],
    ];
    for (const [name, args, masked] of made) {
      const r = await runKforge(["problems", "new", name, ...args], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const p = loadProblem(join(home, "problems", name));
      expect(p.spec.variant?.mask === null, name).toBe(!masked);
      expect(hasMask(p), name).toBe(masked);
      for (const mode of ["fresh", "improve", "repair"] as const) {
        if (masked) expect(titles(p, mode), `${name} ${mode}`).toContain(SKIP);
        else expect(text(p, mode), `${name} ${mode}`).not.toMatch(/mask/i);
      }
    }
  }, 300_000);

  it("kforge search: a mask-free CPU problem and a mask-free CPU variant are never asked to skip masked work; cpu_tiny is", async () => {
    kernel = NO_MASK_KERNEL;
    const plain = await searchOnFallback(server, cpuNoMask, join(dir, "search-plain"));
    expect(plain.ideas[0]).toMatch(/^Blocked attention with PyTorch ops: /);
    for (const idea of plain.ideas) expect(idea).not.toMatch(/mask/i);
    expect(plain.ideas).toContainEqual(expect.stringMatching(/^Fewer temporaries: Apply the score modification in one pass/));
    expect(plain.trace).toContain("Blocked attention with PyTorch ops");
    expect(plain.trace).not.toContain(SKIP);

    // A mask-free CPU variant (problems new --device cpu, a score_mod only), searched by name from its home.
    const variantHome = join(dir, "search-variant");
    const mod = join(dir, "capped_search.py");
    writeFileSync(mod, "import torch\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return 30 * torch.tanh(score / 30)\n");
    const made = await runKforge(["problems", "new", "capped_cpu", "--score-mod", mod, "--device", "cpu"], kforgeEnv(variantHome, server.baseUrl));
    expect(made.code, made.stdout + made.stderr).toBe(0);
    const variant = await searchOnFallback(server, "capped_cpu", variantHome);
    for (const idea of variant.ideas) expect(idea).not.toMatch(/mask/i);
    expect(variant.trace).not.toContain(SKIP);

    // cpu_tiny masks keys (causal): its fresh plan offers skipping masked work.
    kernel = cpuKernel("good", "fallback");
    const causal = await searchOnFallback(server, CPU_TINY, join(dir, "search-causal"));
    expect(causal.ideas).toContainEqual(expect.stringMatching(/^Skip masked work: /));
    expect(causal.trace).toContain(SKIP);
  }, 600_000);
});
