/** Whole-number options (`--limit N`, `-k N`): checked, never silently replaced by a default. */
import { UserError } from "../core/errors.ts";

/** `text` as a positive integer, or a UserError naming `flag` and what was given ("x", "0", "1.5", "-3"). */
export function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new UserError(`${flag} must be a positive integer, got "${text}"`);
  return Number(text);
}
