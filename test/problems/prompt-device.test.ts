/**
 * Prompt texts by device: a GPU problem's texts are pinned word for word (test/fixtures/prompts/gpu-texts.json, the
 * texts before the CPU lane got its own wording); a CPU-lane problem's texts say where it runs and what the CPU
 * lane's verifier allows, and those claims are checked against the harness itself (its static rules and a real run).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { candidateContract } from "../../agents/contract.ts";
import { CODER_SYSTEM } from "../../agents/coder/prompt.ts";
import { CRITIC_SYSTEM } from "../../agents/critic/prompt.ts";
import { PLANNER_EXAMPLES, PLANNER_SYSTEM } from "../../agents/planner/prompt.ts";
import { render } from "../../agents/render.ts";
import { repoRoot } from "../../core/config.ts";
import { attentionKernels, CPU_ALLOWED_CALLS, CPU_REJECTED_APIS } from "../../problems/device-text.ts";
import { describeInputs } from "../../problems/inputs-text.ts";
import { loadProblem } from "../../problems/load.ts";
import { renderPrompt } from "../../problems/scaffold-render.ts";
import { AttentionProblemSpec, type LoadedProblem } from "../../problems/schema.ts";
import { torchPython } from "./helpers.ts";

const FIX = join(repoRoot(), "test", "fixtures", "variants");
const PINNED: Record<string, string> = JSON.parse(readFileSync(join(repoRoot(), "test", "fixtures", "prompts", "gpu-texts.json"), "utf8"));
const GPU_NAME = "NVIDIA H100 80GB HBM3";

function graphBias(device?: "cpu") {
  return AttentionProblemSpec.parse({
    name: "graph_bias_gpu",
    description: "user variant from graph_bias.py",
    kind: "attention",
    params: {},
    shapes: {
      correctness: [
        { B: 1, H: 2, S: 17, D: 16 },
        { B: 1, H: 2, S: 33, Skv: 65, D: 16 },
      ],
      benchmark: [{ B: 2, H: 8, Hkv: 2, S: 1024, D: 64 }],
    },
    dtype: "bf16",
    ...(device ? { device } : {}),
    baseline: "flex",
    tags: ["bias", "mask"],
    atol: 0.001,
    seeds: 2,
    variant: {
      files: ["graph_bias.py"],
      score: { file: "graph_bias.py", symbol: "generate_graph_bias", factory: true },
      mask: { file: "graph_bias.py", symbol: "generate_graph_bias", factory: true },
      captured: [
        { name: "bias_table", dtype: "float32", dims: ["H", 8] },
        { name: "dist", dtype: "int64", dims: ["B", "S", "Skv"] },
      ],
      ir: null,
      irError: "graph_bias.py:3: a loop",
    },
  });
}

const windowOnly = AttentionProblemSpec.parse({
  name: "window_gpu",
  description: "user variant from window_only.py",
  kind: "attention",
  params: {},
  shapes: {
    correctness: [
      { B: 1, H: 2, S: 17, D: 16 },
      { B: 1, H: 2, S: 33, D: 16 },
    ],
    benchmark: [{ B: 2, H: 8, S: 1024, D: 64 }],
  },
  dtype: "fp16",
  baseline: "flex",
  tags: ["mask"],
  atol: 0.001,
  seeds: 2,
  variant: {
    files: ["window_only.py"],
    score: null,
    mask: { file: "window_only.py", symbol: "mask_mod", factory: false },
    captured: [],
    ir: "mods.json",
  },
});

const loaded = (spec: LoadedProblem["spec"]): LoadedProblem => ({ spec, dir: FIX, referencePath: "", referenceSource: "", prompt: "" });

/** Every text a model reads about the candidate it writes, keyed as in gpu-texts.json. */
function texts(p: LoadedProblem): Record<"contract" | "inputs" | "planner" | "coder" | "critic", string> {
  const contract = candidateContract(p);
  const kernels = attentionKernels(p.spec);
  return {
    contract,
    inputs: describeInputs(p),
    planner: render(PLANNER_SYSTEM, { gpu: GPU_NAME, kernels, examples: PLANNER_EXAMPLES[p.spec.device], count: 3, contract }),
    coder: render(CODER_SYSTEM, { gpu: GPU_NAME, kernels, contract }),
    critic: render(CRITIC_SYSTEM, { gpu: GPU_NAME, kernels, contract }),
  };
}

describe("GPU problems' prompt texts", () => {
  it("are word for word the pinned ones (suite problems and GPU variants)", () => {
    const problems = [...["softcap", "document", "alibi", "gqa"].map((n) => loadProblem(n)), loaded(graphBias()), loaded(windowOnly)];
    const got: Record<string, string> = {};
    for (const p of problems) for (const [kind, text] of Object.entries(texts(p))) got[`${p.spec.name}.${kind}`] = text;
    got["graph_bias_gpu.prompt"] = renderPrompt({ spec: graphBias(), folder: FIX, notes: ["a note"] });
    got["window_gpu.prompt"] = renderPrompt({ spec: windowOnly, folder: FIX, notes: [] });
    expect(Object.keys(PINNED).length).toBe(20);
    for (const [key, text] of Object.entries(PINNED)) expect(got[key], key).toBe(text);
  });
});

describe("a CPU-lane problem's prompt texts", () => {
  const cpu = loaded(graphBias("cpu"));
  const all = { ...texts(cpu), prompt: renderPrompt({ spec: cpu.spec, folder: FIX, notes: [] }) };

  it("never send the model to a GPU, and say it is the CPU lane with CPU tensors", () => {
    for (const [kind, text] of Object.entries(all)) {
      expect(text, kind).not.toMatch(
        /on the GPU|CUDA tensors|Hopper|H100\/H200|GPU attention kernels|PyTorch may only allocate|num_warps|compiled FlexAttention/,
      );
    }
    expect(all.prompt).toContain("Write a fast kernel for kforge's CPU lane (a test problem verified on the CPU, without a GPU)");
    expect(all.prompt).toContain("all `torch.bfloat16` CPU tensors (Hkv divides H)");
    expect(all.prompt).toContain("The tensors the mods capture arrive as keyword arguments, on the CPU,");
    expect(all.prompt).toContain("against the problem's reference run eagerly in float32 on the CPU");
    expect(all.contract).toContain("- The problem runs on kforge's CPU lane (a test problem verified on the CPU, without a GPU).");
    expect(all.contract).toContain("- dtype bf16, contiguous, CPU tensors;");
    expect(all.inputs).toContain("contiguous, on the CPU (this problem runs on the CPU lane: no GPU)");
    expect(all.inputs).toContain("under these names, on the CPU, built for each shape and seed");
    expect(all.coder).toContain("a search for fast and correct attention kernels on");
    expect(all.planner).toContain("processing the keys in blocks");
    for (const text of [all.prompt, all.contract.replace(/\n {2}/g, " ")]) {
      expect(text).toContain(
        "PyTorch ops may do the work there (torch.matmul, torch.softmax, torch.where, `@` and tensor methods such as .exp() or .masked_fill() are allowed)",
      );
      expect(text).toContain(
        "Rejected: torch.nn (torch.nn.functional included), scaled_dot_product_attention, flex_attention, create_block_mask, torch.compile, torch.ops,",
      );
    }
  });

  it("name exactly what the harness's static rules accept and reject on the CPU lane", () => {
    // one statement per call the prompts name: each must pass the CPU rules (and is PyTorch compute on a GPU)
    const allowed: Record<(typeof CPU_ALLOWED_CALLS)[number], string> = {
      "torch.matmul": "s = torch.matmul(q, k)",
      "torch.softmax": "s = torch.softmax(q, -1)",
      "torch.where": "s = torch.where(q > 0, q, k)",
      "`@`": "s = q @ k",
      ".exp()": "s = q.exp()",
      ".masked_fill()": "s = q.masked_fill(k > 0, 0.0)",
    };
    const rejected: Record<(typeof CPU_REJECTED_APIS)[number], string> = {
      "torch.nn (torch.nn.functional included)": "s = torch.nn.functional.softmax(q, -1)",
      scaled_dot_product_attention: "s = torch.nn.functional.scaled_dot_product_attention(q, k, v)",
      flex_attention: "from torch.nn.attention.flex_attention import flex_attention",
      create_block_mask: "from torch.nn.attention.flex_attention import create_block_mask",
      "torch.compile": "f = torch.compile(g)",
      "torch.ops": "s = torch.ops.aten.mm(q, k)",
    };
    expect(Object.keys(allowed)).toEqual([...CPU_ALLOWED_CALLS]);
    expect(Object.keys(rejected)).toEqual([...CPU_REJECTED_APIS]);
    const snippets = { allowed: Object.values(allowed), rejected: Object.values(rejected) };
    const script = [
      "import json, sys",
      "from kforge_harness.static_checks import check_source",
      "s = json.loads(sys.argv[1])",
      "rules = lambda line, dev: sorted({v.rule for v in check_source('import torch\\n' + line + '\\n', dev)})",
      "print(json.dumps({k: [[rules(x, 'cpu'), rules(x, 'cuda')] for x in xs] for k, xs in s.items()}))",
    ].join("\n");
    const r = spawnSync(torchPython(), ["-c", script, JSON.stringify(snippets)], {
      cwd: join(repoRoot(), "tools", "verifier", "harness"),
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const out: Record<"allowed" | "rejected", [string[], string[]][]> = JSON.parse(r.stdout);
    out.allowed.forEach(([onCpu, onGpu], i) => {
      expect(onCpu, snippets.allowed[i]).toEqual([]);
      expect(onGpu, snippets.allowed[i]).toEqual(["static.torch_compute"]);
    });
    out.rejected.forEach(([onCpu], i) => {
      expect(onCpu, snippets.rejected[i]).toEqual(["static.forbidden_api"]);
    });
  });

  const tmp = mkdtempSync(join(tmpdir(), "kforge-cpu-lane-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("a kernel written with exactly the calls the CPU text allows passes the real verifier on the CPU lane", () => {
    const kernel = join(tmp, "allowed_calls.py");
    writeFileSync(
      kernel,
      [
        "import torch",
        "",
        "",
        "def attention(q, k, v, *, scale, cap):",
        "    g = q.shape[1] // k.shape[1]",
        "    k = k.repeat_interleave(g, 1).float()",
        "    v = v.repeat_interleave(g, 1).float()",
        "    s = torch.matmul(q.float(), k.transpose(-1, -2)) * scale",
        "    s = cap * torch.tanh(s / cap)",
        "    i = torch.arange(q.shape[2])[:, None]",
        "    j = torch.arange(k.shape[2])[None, :]",
        "    s = s.masked_fill(j > i, float('-inf'))",
        "    p = torch.softmax(s, -1)",
        "    return (p @ v).to(q.dtype)",
        "",
      ].join("\n"),
    );
    const problem = join(repoRoot(), "test", "fixtures", "problems", "cpu_tiny");
    const r = spawnSync(
      process.execPath,
      [join(repoRoot(), "bin", "kforge.js"), "verify", "--problem", problem, "--kernel", kernel, "--no-timing", "--json"],
      {
        encoding: "utf8",
        env: { ...process.env, KFORGE_HOME: join(tmp, "home"), KFORGE_PYTHON: torchPython(), NO_COLOR: "1" },
        timeout: 200_000,
      },
    );
    expect(JSON.parse(r.stdout).status, r.stdout + r.stderr).toBe("ok");
  }, 240_000);
});
