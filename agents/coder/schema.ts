/** What a coder reply must yield: one Python module defining the candidate contract's `attention`. */
import { z } from "zod";

/** The longest kernel module we accept (a reply beyond this is garbage, not a kernel). */
export const MAX_KERNEL_BYTES = 200_000;

/** A candidate module's source, as extracted from the reply. */
export const KernelSource = z
  .string()
  .min(1)
  .max(MAX_KERNEL_BYTES, `the module is over ${MAX_KERNEL_BYTES} bytes`)
  .refine((s) => /^\s*def\s+attention\s*\(/m.test(s), "the module must define a top-level `def attention(q, k, v, *, scale, **params)`");
