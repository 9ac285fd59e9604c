/** What a coder reply must yield for a KernelBench problem: one module defining `class ModelNew`. */
import { z } from "zod";
import { MAX_KERNEL_BYTES } from "../coder/schema.ts";

/** A KernelBench candidate module's source, as extracted from the reply. */
export const ModelNewSource = z
  .string()
  .min(1)
  .max(MAX_KERNEL_BYTES, `the module is over ${MAX_KERNEL_BYTES} bytes`)
  .refine((s) => /^class\s+ModelNew\s*\(/m.test(s), "the module must define a top-level `class ModelNew(torch.nn.Module)`");
