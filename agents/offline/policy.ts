/**
 * The offline policy: no model, a template and mutations. Given a problem and a parent node's config and
 * verify result, it proposes child configs and renders each into a candidate module by running
 * tools/offline/render.py (pure text generation: the only Python it needs is the standard library).
 * Graph-free on purpose: the search calls `proposeOfflineCandidates` like any other expansion.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import { ProblemError, ToolError } from "../../core/errors.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { type Mutation, type OfflineConfig, type ResolvedConfig, neighbours } from "./mutate.ts";

const run = promisify(execFile);

/** Children proposed when the caller does not say. */
export const DEFAULT_CHILDREN = 4;
/** Render subprocesses are pure text generation; this bounds a stuck interpreter. */
const RENDER_TIMEOUT_MS = 30_000;

/** One proposed child: its config, the rendered module, and the idea in words for the trace. */
export interface OfflineProposal {
  config: OfflineConfig;
  source: string;
  idea: string;
}

export interface ProposeOfflineInput {
  /** The problem folder (problems/<name>, with reference.py and problem.json). */
  problemDir: string;
  /** The parent's config; undefined or {} for the root (the template's defaults). */
  parentConfig?: Partial<OfflineConfig> | Record<string, unknown>;
  /** The parent's verify result, when it has one: steers which neighbours come first. */
  parentResult?: VerifyResult;
  /** How many children (default DEFAULT_CHILDREN). */
  n?: number;
  /** RNG seed: the same inputs and seed give the same proposals. */
  seed: number;
  /** Configs already in the tree (canonical keys from `configKey`), never proposed again. */
  exclude?: Set<string>;
  /** Head dims to mutate (default the benchmark's, 128 and 64). */
  headDims?: string[];
  /** Python interpreter for render.py (default "python3"; any Python 3.9+ works, no torch needed). */
  python?: string;
  /** The repository root holding tools/offline (default: process.cwd()). */
  root?: string;
}

/**
 * Proposes up to `n` child candidates of a node for the offline policy.
 *
 * - Root (no parent config): the template's defaults first (idea "offline template, default config"),
 *   then neighbours of the defaults.
 * - Parent `compile_error` / `runtime_error` mentioning resources or shared memory: shrinking changes first
 *   (smaller tiles, fewer stages).
 * - Parent `wrong_output`: precision-safe switches first (exact tanh, no bf16 tanh, no static max, no qscale).
 * - Otherwise: a seeded random sample of single-change neighbours (tiles per head dim, relevant switches).
 *
 * Throws `ProblemError` when the problem's mods fall outside the translatable subset (the message names the
 * construct and line), `ToolError` when render.py fails otherwise.
 */
export async function proposeOfflineCandidates(input: ProposeOfflineInput): Promise<OfflineProposal[]> {
  const n = input.n ?? DEFAULT_CHILDREN;
  const root = input.root ?? process.cwd();
  const parent = await resolveConfig(input, input.parentConfig ?? {});
  const isRoot = !input.parentConfig || Object.keys(input.parentConfig).length === 0;
  const picks: Mutation[] = [];
  if (isRoot) picks.push({ config: { tiles: parent.tiles, ...parent.switches }, idea: "offline template, default config" });
  const prefer = preferenceFor(input.parentResult);
  picks.push(...neighbours(parent, n - picks.length, input.seed, { headDims: input.headDims, prefer, exclude: input.exclude }));
  return Promise.all(
    picks.slice(0, n).map(async (m) => ({ config: m.config, idea: m.idea, source: await renderSource(input, root, m.config) })),
  );
}

/** The full config render.py would use for `config` on this problem, with the problem's features. */
export async function resolveConfig(input: Pick<ProposeOfflineInput, "problemDir" | "python" | "root">, config: object): Promise<ResolvedConfig> {
  const out = await renderPy(input, input.root ?? process.cwd(), ["--resolve", "--config", JSON.stringify(config)]);
  return JSON.parse(out) as ResolvedConfig;
}

function preferenceFor(r: VerifyResult | undefined): ((m: Mutation) => boolean) | undefined {
  if (!r) return undefined;
  const text = "message" in r ? r.message.toLowerCase() : "";
  if ((r.status === "compile_error" || r.status === "runtime_error") && /resource|shared memory|smem|registers/.test(text)) {
    return (m) => /->/.test(m.idea) && shrinks(m.idea);
  }
  if (r.status === "wrong_output") {
    return (m) => /^(fast_tanh off->on|tanh_bf16x2 on->off|static_max on->off|qscale on->off)/.test(m.idea);
  }
  return undefined;
}

function shrinks(idea: string): boolean {
  const m = /: (\w+) (\d+)->(\d+)$/.exec(idea);
  return m !== null && m[1] !== "num_warps" && Number(m[3]) < Number(m[2]);
}

async function renderSource(input: ProposeOfflineInput, root: string, config: OfflineConfig): Promise<string> {
  return renderPy(input, root, ["--config", JSON.stringify(config)]);
}

async function renderPy(input: Pick<ProposeOfflineInput, "problemDir" | "python">, root: string, args: string[]): Promise<string> {
  const script = join(root, "tools", "offline", "render.py");
  try {
    const { stdout } = await run(input.python ?? "python3", [script, "--problem", input.problemDir, ...args], {
      timeout: RENDER_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { code?: number; stderr?: string; message: string };
    const detail = (e.stderr ?? "").trim() || e.message;
    if (e.code === 2) {
      throw new ProblemError(detail, { hint: "rewrite the mod within the offline template's subset, or use a model", context: { problemDir: input.problemDir } });
    }
    throw new ToolError(`render.py failed: ${detail}`, { context: { problemDir: input.problemDir, args } });
  }
}
