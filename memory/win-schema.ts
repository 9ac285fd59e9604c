/**
 * The values of the memory of wins: what the search hands over when a candidate is a verified
 * improvement (`WinInput`, validated with zod because it also arrives from shared files) and what
 * the store gives back (`Win`).
 */
import { z } from "zod";
import { Tag } from "../problems/schema.ts";
import { FEATURES, OP_FEATURES, type Feature } from "./features.ts";

/** A win's tag: an attention variant's tag, or a KernelBench problem's operator family (`op_matmul`, ...). */
const WinTag = z.union([
  Tag,
  z.custom<(typeof OP_FEATURES)[number]>((v) => typeof v === "string" && (OP_FEATURES as readonly string[]).includes(v), {
    message: `a tag (${Tag.options.join(", ")}) or an operator family (${OP_FEATURES.join(", ")})`,
  }),
]);

/** Sizes a sane win never reaches: bigger values in an imported file are rejected, not stored. */
export const LIMITS = {
  kernelChars: 1_000_000,
  modChars: 20_000,
  descriptionChars: 4_000,
  ideas: 50,
  ideaChars: 2_000,
  shapes: 32,
  /** No attention kernel is this many times faster than a compiled baseline; such a number is a bug or a cheat. */
  speedup: 1_000,
  /** Well above any GPU's dense bf16 peak. */
  tflops: 5_000,
} as const;

/** One benchmark shape a win was measured on (Hkv < H means GQA). */
export const WinShape = z
  .object({
    B: z.number().int().positive(),
    H: z.number().int().positive(),
    Hkv: z.number().int().positive().optional(),
    S: z.number().int().positive(),
    D: z.number().int().positive(),
  })
  .strict();
export type WinShape = z.infer<typeof WinShape>;

const ParamValue = z.union([z.number(), z.string().max(256), z.boolean()]);

/** A verified improvement, as the search (or an imported file) hands it to `WinsStore.remember`. */
export const WinInput = z
  .object({
    problem: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, "lower-case letters, digits and _ only")
      .max(100),
    description: z.string().max(LIMITS.descriptionChars).default(""),
    scoreMod: z.string().max(LIMITS.modChars).nullable().default(null),
    maskMod: z.string().max(LIMITS.modChars).nullable().default(null),
    tags: z.array(WinTag).max(FEATURES.length).default([]),
    params: z.record(z.string().max(100), ParamValue).default({}),
    kernelSource: z.string().min(1).max(LIMITS.kernelChars),
    speedup: z.number().positive().max(LIMITS.speedup),
    tflops: z.number().nonnegative().max(LIMITS.tflops).nullable().default(null),
    shapes: z.array(WinShape).max(LIMITS.shapes).default([]),
    gpu: z.string().trim().min(1).max(200),
    ideas: z.array(z.string().trim().min(1).max(LIMITS.ideaChars)).max(LIMITS.ideas).default([]),
    runId: z.string().max(200).nullable().default(null),
    nodeId: z.string().max(200).nullable().default(null),
    createdAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
/** What callers pass (defaults may be left out). */
export type WinInput = z.input<typeof WinInput>;
export type ParsedWinInput = z.output<typeof WinInput>;

/** A remembered win without its kernel source (listing and ranking). */
export interface WinSummary {
  id: number;
  problem: string;
  description: string;
  tags: Feature[];
  /** Tags plus what the memory derived from sources, params and shapes. */
  features: Feature[];
  kernelHash: string;
  speedup: number;
  tflops: number | null;
  gpu: string;
  createdAt: string;
}

/** A remembered win in full, kernel source included. */
export interface Win extends WinSummary {
  scoreMod: string | null;
  maskMod: string | null;
  params: Record<string, number | string | boolean>;
  shapes: WinShape[];
  ideas: string[];
  runId: string | null;
  nodeId: string | null;
  kernelSource: string;
}

/** What `remember` did: stored a new win, replaced the numbers of a known kernel with better ones, or nothing. */
export type RememberOutcome = { id: number; status: "inserted" | "improved" | "duplicate"; kernelHash: string };

/** A memory entry that seeded a search node. */
export interface Seeding {
  runId: string;
  nodeId: string;
  winId: number;
  kernelHash: string;
  rank: number;
  createdAt: string;
}
