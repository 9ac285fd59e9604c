/** Status names, colours (from the page's CSS variables, so both themes agree) and short descriptions. */
import type { NodeStatus } from "../trace-view.ts";

const cache = new Map<string, string>();

/** The value of CSS variable `name` on the page root (cached until the theme changes). */
export function themeColor(name: string): string {
  let v = cache.get(name);
  if (v === undefined) {
    v = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
    cache.set(name, v);
  }
  return v;
}

/** Forgets cached colours (after a theme switch). */
export function resetThemeColors(): void {
  cache.clear();
}

/** The colour of a status (CSS variable --st-<status>). */
export function statusColor(status: NodeStatus): string {
  return themeColor(`--st-${status}`);
}

/** Human words for each status, for legends and tooltips. */
export const STATUS_LABEL: Record<NodeStatus, string> = {
  ok: "correct",
  wrong_output: "wrong output",
  compile_error: "compile error",
  runtime_error: "runtime error",
  timeout: "timeout",
  rejected: "rejected",
  no_kernel: "no kernel",
  failed: "model failed",
  coding: "coding",
  coded: "verifying",
  root: "root",
};

/** Words for a status; one this page does not know yet (a newer store) shows as recorded. */
export function statusLabel(status: NodeStatus): string {
  return STATUS_LABEL[status] ?? String(status).replace(/_/g, " ");
}
