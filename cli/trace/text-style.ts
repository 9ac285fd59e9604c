/** Small text helpers for terminal output: ANSI colours (only when asked), truncation, durations. */
import { inertText } from "../../core/inert-text.ts";

/** The colours terminal output uses; "plain" leaves text as is. */
export type Paint = "plain" | "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan";

const CODES: Record<Exclude<Paint, "plain">, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
};

/** Wraps `text` in an ANSI colour when `color` is on. */
export function paint(color: boolean, style: Paint, text: string): string {
  if (!color || style === "plain" || text === "") return text;
  const [on, off] = CODES[style];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

/** One line, at most `max` characters (an ellipsis marks the cut), without escape sequences. */
export function truncate(text: string, max: number): string {
  const line = inertText(text).replace(/\s+/g, " ").trim();
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`;
}

/** "+42s", "+3m05s", "+2h14m": time since the run started. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `+${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `+${m}m${String(s % 60).padStart(2, "0")}s`;
  return `+${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
