/**
 * The problem contract (problems/<name>/problem.json), validated with zod. `kind` leaves room for
 * other problem families (KernelBench's Model/get_inputs format) without reshaping the verifier.
 */
import { z } from "zod";

/** One attention shape: q is [B, H, S, D]; k and v are [B, Hkv, S, D] (Hkv defaults to H). */
export const AttentionShape = z
  .object({
    B: z.number().int().positive(),
    H: z.number().int().positive(),
    Hkv: z.number().int().positive().optional(),
    S: z.number().int().positive(),
    D: z.number().int().refine((d) => [16, 32, 64, 128, 256].includes(d), "D must be one of 16, 32, 64, 128, 256"),
  })
  .strict()
  .refine((s) => s.Hkv === undefined || s.H % s.Hkv === 0, { message: "Hkv must divide H" });
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
    dtype: z.literal("bf16"),
    baseline: z.enum(["flex", "sdpa"]),
    tags: z.array(Tag).default([]),
    /** Extra absolute tolerance on top of 2x the bf16 reference's own error. */
    atol: z.number().nonnegative().default(1e-3),
    /** Random seeds drawn per correctness shape. */
    seeds: z.number().int().min(1).max(8).default(2),
    /** Where candidates run: "cuda" (the product) or "cpu" (test problems: torch math allowed, perf_counter timing). */
    device: z.enum(["cuda", "cpu"]).default("cuda"),
  })
  .strict();

export const ProblemSpec = z.discriminatedUnion("kind", [AttentionProblemSpec]);
export type ProblemSpec = z.infer<typeof ProblemSpec>;

/** A problem as loaded from disk: the spec plus the paths and text of its companion files. */
export interface LoadedProblem {
  spec: ProblemSpec;
  dir: string;
  referencePath: string;
  referenceSource: string;
  prompt: string;
}
