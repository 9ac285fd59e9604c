/**
 * The problem contract (problems/<name>/problem.json), validated with zod. `kind` leaves room for
 * other problem families (KernelBench's Model/get_inputs format) without reshaping the verifier.
 */
import { z } from "zod";

/** The most elements one of q, k, v (B*H*S*D) may have: 2^31, so 32-bit offsets index every tensor. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;
/** The most score-matrix elements (B*H*S_q*S_kv) a shape may have: past this even FlexAttention's block mask is huge. */
export const MAX_SCORE_ELEMENTS = 2 ** 42;

/** One attention shape: q is [B, H, S, D]; k and v are [B, Hkv, Skv, D] (Hkv defaults to H, Skv to S). */
export const AttentionShape = z
  .object({
    B: z.number().int().positive().max(4096, "B must be at most 4096"),
    H: z.number().int().positive().max(1024, "H must be at most 1024"),
    Hkv: z.number().int().positive().optional(),
    S: z
      .number()
      .int()
      .positive()
      .max(1 << 20, "S must be at most 1048576"),
    /** Key/value length when it differs from S (cross-attention, prefill against a longer cache). */
    Skv: z
      .number()
      .int()
      .positive()
      .max(1 << 20, "Skv must be at most 1048576")
      .optional(),
    D: z
      .number()
      .int()
      .refine((d) => [16, 32, 64, 128, 256].includes(d), "D must be one of 16, 32, 64, 128, 256"),
  })
  .strict()
  .refine((s) => s.Hkv === undefined || s.H % s.Hkv === 0, { message: "Hkv must divide H" })
  .refine((s) => s.B * s.H * Math.max(s.S, s.Skv ?? s.S) * s.D <= MAX_TENSOR_ELEMENTS, {
    message: `B*H*S*D must be at most ${MAX_TENSOR_ELEMENTS} elements per tensor: use a smaller batch or sequence`,
  })
  .refine((s) => s.B * s.H * s.S * (s.Skv ?? s.S) <= MAX_SCORE_ELEMENTS, {
    message: `B*H*S*Skv must be at most ${MAX_SCORE_ELEMENTS}: use a smaller batch or sequence`,
  });
export type AttentionShape = z.infer<typeof AttentionShape>;

/**
 * A parameter: a literal number, or a generator the harness materialises per shape and seed:
 * "alibi" (float32 [H] slopes 2^(-8(h+1)/H)), "random_docs(N)" (int32 [S] document ids, N documents).
 */
export const ParamValue = z.union([
  z.number(),
  z.enum(["alibi"]),
  z.string().regex(/^random_docs\(\d+\)$/, 'generators are "alibi" or "random_docs(N)"'),
]);
export type ParamValue = z.infer<typeof ParamValue>;

/** Where a variant's mod comes from: a function (or a factory returning it) in one of the problem's files. */
export const ModSource = z
  .object({
    file: z.string().regex(/^[A-Za-z0-9_.-]+\.py$/, "a .py file name in the problem folder"),
    symbol: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a Python name"),
    /** The symbol is a factory: called with the shape, device and seed, it returns the mods. */
    factory: z.boolean(),
  })
  .strict();

/** A tensor the mods capture, passed to attention(...) under this name; dims are shape symbols or numbers. */
export const CapturedTensor = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a Python name"),
    dtype: z.string().min(1),
    dims: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
  })
  .strict();
export type CapturedTensor = z.infer<typeof CapturedTensor>;

/** A user variant: its files (imported only in the sandboxed harness), its mods, what they capture. */
export const VariantBlock = z
  .object({
    files: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/, "a file name in the problem folder")).min(1),
    score: ModSource.nullable(),
    mask: ModSource.nullable(),
    captured: z.array(CapturedTensor),
    /** The mods' kernel IR (tools/offline/ir.py's Mods document) when they lowered, else null. */
    ir: z.string().nullable(),
    /** Why the mods have no IR (the construct, file and line): the offline template cannot run them. */
    irError: z.string().optional(),
  })
  .strict()
  .refine((v) => v.score !== null || v.mask !== null, { message: "a variant needs a score_mod or a mask_mod" });
export type VariantBlock = z.infer<typeof VariantBlock>;

/** Features the memory uses to relate variants (and the offline template to pick hooks). */
export const Tag = z.enum(["full", "causal", "softcap", "mask", "bias", "windowed", "prefix", "document", "gqa", "relpos", "alibi", "2d"]);
export type Tag = z.infer<typeof Tag>;

export const AttentionProblemSpec = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, "lower-case letters, digits and _ only"),
    description: z.string().min(1),
    kind: z.literal("attention"),
    params: z.record(z.string(), ParamValue).default({}),
    shapes: z
      .object({
        correctness: z.array(AttentionShape).min(2, "need several correctness shapes"),
        benchmark: z.array(AttentionShape).min(1),
      })
      .strict(),
    dtype: z.enum(["bf16", "fp16"]).default("bf16"),
    baseline: z.enum(["flex", "sdpa"]),
    tags: z.array(Tag).default([]),
    /** Extra absolute tolerance on top of 2x the low-precision reference's own error (outputs are O(1): a
     * tolerance near 1 would pass a kernel that returns zeros). */
    atol: z.number().nonnegative().max(0.1, "atol must be at most 0.1: outputs are O(1), a larger tolerance would pass a wrong kernel").default(1e-3),
    /** Random seeds drawn per correctness shape. */
    seeds: z.number().int().min(1, "seeds must be at least 1").max(8, "seeds must be at most 8 (each one is a full check of every shape)").default(2),
    /** A user variant (kforge problems new): the mods live in its files, its params are the tensors they capture. */
    variant: VariantBlock.optional(),
    /** Where candidates run: "cuda" (the product) or "cpu" (test problems: torch math allowed, perf_counter timing). */
    device: z.enum(["cuda", "cpu"]).default("cuda"),
  })
  .strict()
  .refine((p) => !p.variant || Object.keys(p.params).length === 0, {
    message: "a variant's inputs are the tensors its mods capture: leave params empty",
  });

/** Input distributions a KernelBench problem is checked under: `kernelbench` is get_inputs() as written (often
 * uniform [0, 1), under which ReLU is the identity); the others redraw every floating input with the same shape. */
export const KernelBenchDistribution = z.enum(["kernelbench", "normal", "signed", "outliers"]);

/**
 * A KernelBench problem: a file with `class Model(nn.Module)`, `get_inputs()` and `get_init_inputs()`, used in
 * place from the user's checkout (`--problem kernelbench:PATH`). A candidate defines `ModelNew` with Model's
 * interface, its work done by its own Triton or CUDA kernels.
 */
export const KernelBenchProblemSpec = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, "lower-case letters, digits and _ only"),
    description: z.string().min(1),
    kind: z.literal("kernelbench"),
    /** KernelBench's level (the levelN folder the file sits in), or null outside one. */
    level: z.number().int().min(1).max(9).nullable(),
    /** Absolute path of the problem file (the reference). */
    file: z.string().min(1),
    /** Operator families the module uses, the main one first (memory relates problems by these). */
    families: z.array(z.string().regex(/^[a-z_]+$/)).min(1),
    distributions: z.array(KernelBenchDistribution).min(1).default(["kernelbench", "normal", "signed", "outliers"]),
    seeds: z.number().int().min(1).max(8, "seeds must be at most 8").default(2),
    /** KernelBench's own rule: torch.allclose(out, reference, atol, rtol) against the reference in its dtype. */
    kbTolerance: z.object({ atol: z.number().positive(), rtol: z.number().positive() }).strict().default({ atol: 1e-2, rtol: 1e-2 }),
    /** kforge's rule: max|out - golden64| <= 2 * max|reference - golden64| + rel * rms(golden64). */
    relTolerance: z.number().positive().max(0.05).default(5e-3),
    device: z.enum(["cuda", "cpu"]).default("cuda"),
  })
  .strict();
export type KernelBenchProblemSpec = z.infer<typeof KernelBenchProblemSpec>;

/** A KernelBench problem as loaded: the spec, the file's text (the reference the model reads) and the prompt. */
export interface LoadedKernelBenchProblem {
  spec: KernelBenchProblemSpec;
  dir: string;
  referencePath: string;
  referenceSource: string;
  prompt: string;
  origin: "kernelbench";
}

/** problem.json folders (the suite, user variants). KernelBench problems are files in the user's checkout, loaded by
 * problems/kernelbench/load.ts as a LoadedKernelBenchProblem, not folders of this union. */
export const ProblemSpec = z.discriminatedUnion("kind", [AttentionProblemSpec]);
export type ProblemSpec = z.infer<typeof ProblemSpec>;

/** A problem as loaded from disk: the spec plus the paths and text of its companion files. */
export interface LoadedProblem {
  spec: ProblemSpec;
  dir: string;
  referencePath: string;
  referenceSource: string;
  prompt: string;
  /** Where it was found: the built-in suite, or the user's variants under KFORGE_HOME/problems (or a path). */
  origin?: "suite" | "user" | "path";
}
