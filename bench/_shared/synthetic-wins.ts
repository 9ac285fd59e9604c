/**
 * Synthetic but realistic wins for the retrieval benchmark and the memory tests: the problem
 * suite's variant families (plus a few combined ones), each with FlexAttention-style sources in
 * several spellings, Triton-like kernels, critic ideas, GPUs and log-normal speedups. Seeded.
 */
import { seededRandom } from "../../core/random.ts";
import type { WinInput } from "../../memory/win-schema.ts";

/** One variant family: how its mods are written and what its kernels typically reach. */
export interface Family {
  problem: string;
  description: string;
  tags: string[];
  scoreMod?: (r: Rng) => string;
  maskMod?: (r: Rng) => string;
  params?: (r: Rng) => Record<string, number | string>;
  gqa?: boolean;
  baseSpeedup: number;
  ideas: string[];
}

export type Rng = () => number;

/** A small seeded generator (mulberry32), so every run builds the same memory. */
export const rng: (seed: number) => Rng = seededRandom;

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const sig = (r: Rng, score: boolean) => {
  const [q, kv] = pick(r, [
    ["q_idx", "kv_idx"],
    ["q_idx", "kv_idx"],
    ["q", "kv"],
    ["qi", "ki"],
  ] as const);
  return { q, kv, head: score ? `(score, b, h, ${q}, ${kv})` : `(b, h, ${q}, ${kv})` };
};

const CAUSAL = (r: Rng) => {
  const s = sig(r, false);
  return `def mask_mod${s.head}:\n    return ${s.q} >= ${s.kv}\n`;
};
const SOFTCAP = (r: Rng) => {
  const s = sig(r, true);
  return pick(r, [
    `def score_mod${s.head}:\n    return cap * torch.tanh(score / cap)\n`,
    `def score_mod${s.head}:\n    # soft-capping as in Gemma 2\n    score = score / CAP\n    score = torch.tanh(score)\n    return score * CAP\n`,
  ]);
};
const WINDOW = (r: Rng) => {
  const s = sig(r, false);
  return pick(r, [
    `def mask_mod${s.head}:\n    causal = ${s.q} >= ${s.kv}\n    in_window = ${s.q} - ${s.kv} < window\n    return causal & in_window\n`,
    `def mask_mod${s.head}:\n    return (${s.q} >= ${s.kv}) & (${s.q} - ${s.kv} <= WINDOW - 1)\n`,
  ]);
};
const ALIBI = (r: Rng) => {
  const s = sig(r, true);
  return `def score_mod${s.head}:\n    bias = slopes[h] * (${s.kv} - ${s.q})\n    return score + bias\n`;
};
const DOC = (r: Rng) => {
  const s = sig(r, false);
  return `def mask_mod${s.head}:\n    same_doc = doc_ids[${s.q}] == doc_ids[${s.kv}]\n    return same_doc & (${s.q} >= ${s.kv})\n`;
};

const COMMON_IDEAS = [
  "use exp2 with log2(e) folded into the softmax scale",
  "BLOCK_M=128, BLOCK_N=64, num_warps=8, num_stages=3 at D=128",
  "keep the running max and sum in fp32 registers; rescale the accumulator lazily",
  "load K and V tiles with TMA descriptors and double-buffer them",
  "pid ordering: heads fastest so neighbouring programs share K/V in L2",
];

/** The families of the problem suite and a few combinations (the tests leave combinations out on purpose). */
export const FAMILIES: Family[] = [
  {
    problem: "full",
    description: "plain attention, no mask",
    tags: ["full"],
    baseSpeedup: 1.05,
    ideas: ["persistent kernel over (batch, head, q-block) tiles"],
  },
  {
    problem: "causal",
    description: "causal attention",
    tags: ["causal"],
    maskMod: CAUSAL,
    baseSpeedup: 1.2,
    ideas: ["skip kv blocks above the diagonal; mask only the diagonal block"],
  },
  {
    problem: "softcap",
    description: "tanh logit soft-capping, cap 30",
    tags: ["softcap"],
    scoreMod: SOFTCAP,
    params: (r) => ({ cap: pick(r, [30, 50]) }),
    baseSpeedup: 1.9,
    ideas: ["compute tanh as 2*sigmoid(2x)-1 in fp32 on the scaled scores", "fold 1/cap into the qk scale so only one multiply remains"],
  },
  {
    problem: "softcap_causal",
    description: "causal attention with tanh soft-capping",
    tags: ["softcap", "causal"],
    scoreMod: SOFTCAP,
    maskMod: CAUSAL,
    params: () => ({ cap: 30 }),
    baseSpeedup: 1.8,
    ideas: ["apply tanh before the causal mask on the diagonal block only"],
  },
  {
    problem: "relpos",
    description: "relative position bias score + (q - kv)",
    tags: ["relpos"],
    scoreMod: (r) => {
      const s = sig(r, true);
      return `def score_mod${s.head}:\n    return score + (${s.q} - ${s.kv})\n`;
    },
    baseSpeedup: 1.1,
    ideas: ["add the q-kv offset from tl.arange vectors, no bias tensor in memory"],
  },
  {
    problem: "alibi",
    description: "ALiBi bias, per-head slopes",
    tags: ["alibi"],
    scoreMod: ALIBI,
    params: () => ({ slopes: "alibi" }),
    baseSpeedup: 1.15,
    ideas: ["load the head's slope once per program; bias = slope * (kv - q) from index vectors"],
  },
  {
    problem: "alibi_causal",
    description: "causal ALiBi",
    tags: ["alibi", "causal"],
    scoreMod: ALIBI,
    maskMod: CAUSAL,
    params: () => ({ slopes: "alibi" }),
    baseSpeedup: 1.2,
    ideas: ["skip blocks above the diagonal; ALiBi slope pre-multiplied by log2(e)"],
  },
  {
    problem: "sliding_window",
    description: "causal sliding window of 1024 tokens",
    tags: ["windowed", "causal"],
    maskMod: WINDOW,
    params: (r) => ({ window: pick(r, [512, 1024, 2048]) }),
    baseSpeedup: 1.5,
    ideas: ["iterate only over kv blocks intersecting [q - window, q]", "mask only the two edge blocks of the band"],
  },
  {
    problem: "prefix_lm",
    description: "prefix LM: bidirectional prefix then causal",
    tags: ["prefix", "causal"],
    maskMod: (r) => {
      const s = sig(r, false);
      return `def mask_mod${s.head}:\n    return (${s.kv} < prefix) | (${s.q} >= ${s.kv})\n`;
    },
    params: () => ({ prefix: 1024 }),
    baseSpeedup: 1.3,
    ideas: ["two loops: full prefix blocks, then causal blocks up to the diagonal"],
  },
  {
    problem: "document",
    description: "causal attention within packed documents",
    tags: ["document", "causal"],
    maskMod: DOC,
    params: () => ({ doc_ids: "random_docs(8)" }),
    baseSpeedup: 1.6,
    ideas: ["precompute per-q-block kv ranges from document boundaries", "skip kv blocks of other documents entirely"],
  },
  {
    problem: "gqa",
    description: "grouped-query attention, Hkv = Hq/4",
    tags: ["gqa", "full"],
    gqa: true,
    baseSpeedup: 1.1,
    ideas: ["map query head h to kv head h // (Hq // Hkv); process the group's query heads in one program to share K/V loads"],
  },
  {
    problem: "natten_2d",
    description: "2-D neighbourhood attention on a 64x64 grid",
    tags: ["2d"],
    maskMod: (r) => {
      const s = sig(r, false);
      return `def mask_mod${s.head}:\n    qx, qy = ${s.q} // W, ${s.q} % W\n    kx, ky = ${s.kv} // W, ${s.kv} % W\n    return (abs(qx - kx) <= K) & (abs(qy - ky) <= K)\n`;
    },
    baseSpeedup: 1.4,
    ideas: ["tile queries as 2-D patches so the kv neighbourhood is a few contiguous row segments"],
  },
  // Combinations: present in the benchmark's memory, absent from the retrieval-quality tests.
  {
    problem: "softcap_window",
    description: "soft-capped sliding window",
    tags: ["softcap", "windowed", "causal"],
    scoreMod: SOFTCAP,
    maskMod: WINDOW,
    params: () => ({ cap: 30, window: 1024 }),
    baseSpeedup: 1.7,
    ideas: ["band iteration plus tanh in fp32"],
  },
  {
    problem: "alibi_document",
    description: "ALiBi within packed documents",
    tags: ["alibi", "document", "causal"],
    scoreMod: ALIBI,
    maskMod: DOC,
    params: () => ({ slopes: "alibi", doc_ids: "random_docs(4)" }),
    baseSpeedup: 1.5,
    ideas: ["document kv ranges plus per-head slope"],
  },
];

export const GPUS = [
  "NVIDIA H100 80GB HBM3",
  "NVIDIA H100 80GB HBM3",
  "NVIDIA H100 80GB HBM3",
  "NVIDIA H200",
  "NVIDIA A100-SXM4-80GB",
  "NVIDIA H100 NVL",
];

/** One synthetic win of a family; `serial` makes its kernel unique. */
export function familyWin(f: Family, r: Rng, serial: number, over: Partial<WinInput> = {}): WinInput {
  const blockM = pick(r, [64, 128]);
  const blockN = pick(r, [32, 64, 128]);
  const speedup = Math.max(1.01, f.baseSpeedup * Math.exp((r() - 0.5) * 0.6));
  const H = pick(r, [16, 32]);
  const shapes = [
    { B: 4, H, S: 4096, D: 128 },
    { B: 2, H: 32, S: 8192, D: 64 },
  ].map((s) => (f.gqa ? { ...s, Hkv: s.H / 4 } : s));
  return {
    problem: f.problem,
    description: f.description,
    tags: f.tags as WinInput["tags"],
    scoreMod: f.scoreMod?.(r) ?? null,
    maskMod: f.maskMod?.(r) ?? null,
    params: f.params?.(r) ?? {},
    kernelSource: kernelSource(f, blockM, blockN, serial),
    speedup: Number(speedup.toFixed(3)),
    tflops: Number((180 * speedup * (0.9 + r() * 0.2)).toFixed(1)),
    shapes,
    gpu: pick(r, GPUS),
    ideas: [...f.ideas.slice(0, 1 + Math.floor(r() * f.ideas.length)), pick(r, COMMON_IDEAS)],
    runId: `run-${Math.floor(serial / 40)}`,
    nodeId: `node-${serial}`,
    ...over,
  };
}

/** `n` wins cycling through families at random (seeded). */
export function syntheticWins(n: number, seed = 1, families: readonly Family[] = FAMILIES): WinInput[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => familyWin(pick(r, families), r, i));
}

function kernelSource(f: Family, blockM: number, blockN: number, serial: number): string {
  return `# ${f.problem} kernel #${serial}
import torch
import triton
import triton.language as tl


@triton.jit
def _fwd(Q, K, V, O, sm_scale, S, BLOCK_M: tl.constexpr = ${blockM}, BLOCK_N: tl.constexpr = ${blockN}, D: tl.constexpr = 128):
    start_m = tl.program_id(0)
    off_hz = tl.program_id(1)
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    # ${f.description}: ${f.ideas[0]}
    for start_n in range(0, S, BLOCK_N):
        pass
    tl.store(O + offs_m[:, None] * D, acc.to(tl.bfloat16))


def attention(q, k, v, *, scale, **params):
    o = torch.empty_like(q)
    grid = (triton.cdiv(q.shape[2], ${blockM}), q.shape[0] * q.shape[1])
    _fwd[grid](q, k, v, o, scale, q.shape[2])
    return o
`;
}
