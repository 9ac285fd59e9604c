/** The budget and search flags shared by `kforge search` and `kforge resume`, parsed into typed limits and options. */
import { UserError } from "../../core/errors.ts";
import { DEFAULT_WALL_MS, parseDuration, type BudgetLimits } from "../../graph/budget.ts";
import { DEFAULT_SEARCH_OPTIONS, type SearchOptions } from "../../graph/deps.ts";
import type { OptionSpec, ParsedArgs } from "../command.ts";
import type { ProgressMode } from "./progress.ts";
import { MAX_INFLIGHT, parseInflight } from "../../graph/inflight.ts";

/** The flags of a search's limits and knobs. */
export const SEARCH_FLAGS: Record<string, OptionSpec> = {
  budget: {
    type: "string",
    valueName: "TIME",
    description: "wall-clock budget from the command's start, baseline measurement included, e.g. 15m, 8h, 1h30m (default 15m)",
  },
  "max-nodes": { type: "string", valueName: "N", description: "stop after N candidate kernels" },
  "max-tokens": { type: "string", valueName: "N", description: "stop after N model tokens (prompt + completion)" },
  "max-cost": { type: "string", valueName: "USD", description: "stop after spending USD dollars on the model" },
  target: { type: "string", valueName: "X", description: "stop once a kernel reaches X times the baseline's speed" },
  branching: { type: "string", valueName: "N", description: "ideas (child kernels) per expansion (default 4)" },
  seed: { type: "string", valueName: "N", description: "seed of the tree policy (default 0)" },
  inflight: {
    type: "string",
    valueName: "N|auto",
    description:
      "expansions in flight at once (distinct nodes; coders, verification and critiques overlap); auto sizes it to keep the verification lanes busy (default auto)",
  },
};

/** Flags choosing the problem's shapes (a new search only: a resumed run keeps its problem). */
export const SHAPE_FLAGS: Record<string, OptionSpec> = {
  shapes: {
    type: "string",
    valueName: "SHAPES",
    description: "benchmark shapes B x H[/Hkv] x S[:S_kv] x D, comma-separated, e.g. 8x32x16384x128 (correctness shapes are derived)",
  },
};

/** Flags of the progress display. */
export const PROGRESS_FLAGS: Record<string, OptionSpec> = {
  quiet: { type: "boolean", short: "q", description: "print only the run id and the final summary" },
};

function num(args: ParsedArgs, name: string, check: (n: number) => boolean, what: string): number | undefined {
  const raw = args.values[name];
  if (typeof raw !== "string") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new UserError(`--${name} ${raw}: expected ${what}`);
  return n;
}

/** The budget from flags (wall time defaults to 15 minutes). */
export function limitsFromFlags(args: ParsedArgs, base?: BudgetLimits): BudgetLimits {
  const budget = args.values["budget"];
  const limits: BudgetLimits = { ...(base ?? { wallMs: DEFAULT_WALL_MS }) };
  if (typeof budget === "string") limits.wallMs = parseDuration(budget);
  const maxNodes = num(args, "max-nodes", (n) => Number.isInteger(n) && n > 0, "a positive integer");
  const maxTokens = num(args, "max-tokens", (n) => Number.isInteger(n) && n > 0, "a positive integer");
  const maxCost = num(args, "max-cost", (n) => n > 0, "a positive number of dollars");
  const target = num(args, "target", (n) => n > 0, "a positive speedup, e.g. 2.0");
  if (maxNodes !== undefined) limits.maxNodes = maxNodes;
  if (maxTokens !== undefined) limits.maxTokens = maxTokens;
  if (maxCost !== undefined) limits.maxCostUsd = maxCost;
  if (target !== undefined) limits.targetSpeedup = target;
  return limits;
}

/** The search options from flags. */
export function optionsFromFlags(args: ParsedArgs): SearchOptions {
  const branching = num(args, "branching", (n) => Number.isInteger(n) && n >= 1 && n <= 16, "an integer from 1 to 16");
  const seed = num(args, "seed", (n) => Number.isInteger(n) && n >= 0, "a non-negative integer");
  const rawInflight = args.values["inflight"];
  const inflight = typeof rawInflight === "string" ? parseInflight(rawInflight) : undefined;
  if (inflight === null) throw new UserError(`--inflight ${rawInflight}: expected auto or an integer from 1 to ${MAX_INFLIGHT}`);
  return {
    ...DEFAULT_SEARCH_OPTIONS,
    ...(branching !== undefined ? { branching } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(inflight !== undefined ? { inflight } : {}),
  };
}

/** Live display on a terminal, log lines otherwise; nothing with --quiet or --json. */
export function progressMode(args: ParsedArgs, json: boolean, stream: NodeJS.WritableStream): ProgressMode {
  if (args.values["quiet"] === true || json) return "quiet";
  return (stream as { isTTY?: boolean }).isTTY ? "live" : "lines";
}
