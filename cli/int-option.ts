/** Whole-number options (`--limit N`, `-k N`): checked, never silently replaced by a default. */
import { UserError } from "../core/errors.ts";

/** `text` as a positive integer, or a UserError naming `flag` and what was given ("x", "0", "1.5", "-3"). */
export function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new UserError(`${flag} must be a positive integer, got "${text}"`);
  return Number(text);
}

/** `text` as a whole number, 0 included (`--depth 0` is the root alone), or a UserError naming `flag` and what was given. */
export function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UserError(`${flag} must be a whole number (0 or more), got "${text}"`);
  return Number(text);
}
