/** The mod files of a new variant, as `search` and `problems new` take them. */
import { UserError } from "../core/errors.ts";

/**
 * --variant FILE[:FACTORY] (the score_mod and/or mask_mod of one file: the harness keeps the kinds the file has), or
 * --score-mod / --mask-mod naming each kind's file; a mix of the two forms is refused.
 */
export function variantFiles(values: Record<string, unknown>): { scoreMod: string | undefined; maskMod: string | undefined } {
  const str = (key: string): string | undefined => (typeof values[key] === "string" ? (values[key] as string) : undefined);
  const variant = str("variant");
  const scoreMod = str("score-mod");
  const maskMod = str("mask-mod");
  if (variant !== undefined && (scoreMod !== undefined || maskMod !== undefined)) {
    throw new UserError("give --variant FILE, or --score-mod/--mask-mod, not both", {
      hint: "--variant reads the score_mod and the mask_mod from one file; --score-mod/--mask-mod name a file for each",
    });
  }
  return variant !== undefined ? { scoreMod: variant, maskMod: variant } : { scoreMod, maskMod };
}
