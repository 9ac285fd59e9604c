/**
 * How many expansions the search keeps in flight. A number is taken as given (`--inflight N`);
 * `auto` sizes the pipeline by Little's law so the verification lanes never run dry: an expansion
 * keeps no lane busy for most of its life (planner, coders and critic wait on the model), so
 * lanes × (its duration) / (lane-time it brings) expansions must be under way at once.
 */

/** `--inflight`: a fixed number of expansions in flight, or sized from what the run measures. */
export type InflightSetting = number | "auto";

/** The most expansions `auto` keeps in flight per lane, and in all (each holds a few model calls open). */
export const MAX_AUTO_INFLIGHT_PER_LANE = 16;
export const MAX_AUTO_INFLIGHT = 128;
/** The most `--inflight N` accepts. */
export const MAX_INFLIGHT = 256;
/** Head-room over the estimate, so lanes stay busy through the spread of durations. */
const MARGIN = 1.3;

/** What the run has measured so far (null before the first finished expansion or verification). */
export interface PipelineMeasures {
  lanes: number;
  /** Mean wall time of a finished expansion, less the time its candidates waited for a lane (ms). */
  expansionMs: number | null;
  /** Mean lane-time one expansion brings: verifications × their mean duration (ms). */
  laneMsPerExpansion: number | null;
}

/** The number of expansions to keep in flight now. */
export function inflightTarget(setting: InflightSetting, m: PipelineMeasures): number {
  if (setting !== "auto") return setting;
  if (m.expansionMs === null || m.laneMsPerExpansion === null || m.laneMsPerExpansion <= 0) return 2 * m.lanes;
  const need = (m.lanes * m.expansionMs) / m.laneMsPerExpansion;
  return Math.max(2, Math.min(MAX_AUTO_INFLIGHT, MAX_AUTO_INFLIGHT_PER_LANE * m.lanes, Math.ceil(MARGIN * need)));
}

/** Parses `--inflight auto|N`. */
export function parseInflight(text: string): InflightSetting | null {
  if (text === "auto") return "auto";
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= MAX_INFLIGHT ? n : null;
}
