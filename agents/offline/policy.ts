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
import {
  configKey,
  DEFAULT_HEAD_DIMS,
  type Mutation,
  neighbours,
  type OfflineConfig,
  type ResolvedConfig,
  SWITCH_FEATURE,
  SWITCHES,
  tileFits,
} from "./mutate.ts";

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
  /** Memory-of-wins entries this child starts from (a prior win's config adapted to this problem). */
  seededBy?: string[];
}

/** A prior win of the offline template, as the memory returns it: its id, a label, and its kernel module. */
export interface SeedWin {
  winId: string;
  /** e.g. "softcap, 2.20x on NVIDIA H100 80GB HBM3" (for the idea text). */
  label: string;
  /** The win's kernel source; only modules rendered by the offline template carry a usable config. */
  source: string;
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
  /**
   * Configs already in the tree (canonical keys from `configKey`), never proposed again. The proposals are added to
   * it the moment they are chosen (before rendering), so plans of expansions in flight at once that share one set
   * never propose the same config twice.
   */
  exclude?: Set<string>;
  /** Head dims to mutate (default the benchmark's, 128 and 64). */
  headDims?: string[];
  /** Prior wins to start the root's children from (their configs adapted to this problem); ignored below the root. */
  seeds?: SeedWin[];
  /** Python interpreter for render.py (default "python3"; any Python 3.9+ works, no torch needed). */
  python?: string;
  /** The repository root holding tools/offline (default: process.cwd()). */
  root?: string;
}

/**
 * Proposes up to `n` child candidates of a node for the offline policy.
 *
 * - Root (no parent config): the template's defaults first (idea "offline template, default config") unless
 *   `exclude` has them (the root expanded again), then neighbours of the defaults.
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
  const picks: Array<Mutation & { seededBy?: string[] }> = [];
  if (isRoot) {
    const base: OfflineConfig = { tiles: parent.tiles, ...parent.switches };
    // The root is expanded again when its first children are done: the defaults were tried then, and are not again.
    if (!input.exclude?.has(configKey(base))) picks.push({ config: base, idea: "offline template, default config" });
    // Prior wins of related variants: at most half the children, so the template's own neighbours still get tried.
    const seen = new Set([configKey(base), ...(input.exclude ?? [])]);
    let seeded = 0;
    for (const w of input.seeds ?? []) {
      if (seeded >= Math.max(1, Math.ceil(n / 2)) || picks.length >= n) break;
      const adapted = adaptWinConfig(w.source, parent, input.headDims ?? DEFAULT_HEAD_DIMS);
      if (!adapted) continue;
      const key = configKey(adapted.config);
      if (seen.has(key)) continue;
      seen.add(key);
      seeded++;
      picks.push({ config: adapted.config, idea: `start from memory #${w.winId} (${w.label}): ${adapted.note}`, seededBy: [w.winId] });
    }
  }
  const prefer = preferenceFor(input.parentResult);
  const exclude = new Set([...(input.exclude ?? []), ...picks.map((p) => configKey(p.config))]);
  picks.push(...neighbours(parent, n - picks.length, input.seed, { headDims: input.headDims, prefer, exclude }));
  const chosen = picks.slice(0, n);
  for (const m of chosen) input.exclude?.add(configKey(m.config)); // claimed now: the renders below yield to other plans
  return Promise.all(
    chosen.map(async (m) => ({
      config: m.config,
      idea: m.idea,
      source: await renderSource(input, root, m.config),
      ...(m.seededBy ? { seededBy: m.seededBy } : {}),
    })),
  );
}

/**
 * A prior win's template config, adapted to this problem: its tiles for the benchmark head dims, and its
 * switches where the win's variant had the feature they concern (a softcap win's tanh settings carry over to
 * softcap with a window; its mask settings do not, having had no mask, so this problem's defaults stay).
 * Null when the source is not a module of the offline template (a model-written win).
 */
export function adaptWinConfig(source: string, base: ResolvedConfig, headDims: readonly string[]): { config: OfflineConfig; note: string } | null {
  const header = /kforge offline template, problem [^:\n]*: score_mod (\w+); mask_mod (\w+)/.exec(source);
  const line = /^Config: (\{.*\})\s*$/m.exec(source);
  if (!header || !line) return null;
  let win: OfflineConfig;
  try {
    win = JSON.parse(line[1]!) as OfflineConfig;
  } catch {
    return null;
  }
  const winHas = {
    tanh: /\btanh\b|_tanh\(/.test(source) && header[1] !== "none",
    mask: header[2] !== "none",
    // template modules carry every kernel: the config block says whether the grid one runs (older wins: its presence)
    grid2d: /\bGRID2D=True\b/.test(source) || (!/\b_CFG = dict\(/.test(source) && /def _attn_fwd_grid\(/.test(source)),
    // the score's clipped offsets split the mask-free run (the config block says whether they did)
    score_bands: /\bBANDS=True\b/.test(source),
  };
  const tiles = { ...base.tiles };
  const tookTiles: string[] = [];
  for (const d of headDims) {
    const t = win.tiles?.[d];
    if (t && tileFits(t, Number(d))) {
      tiles[d] = t;
      tookTiles.push(`D=${d} ${t.BLOCK_M}x${t.BLOCK_N} w${t.num_warps} s${t.num_stages}`);
    }
  }
  const switches = { ...base.switches };
  const took: string[] = [];
  for (const k of SWITCHES) {
    const v = win[k];
    if (typeof v !== "boolean") continue;
    const feature = SWITCH_FEATURE[k];
    if (feature !== null && !(winHas[feature] && base.features.includes(feature))) continue;
    if (v !== switches[k]) took.push(`${k} ${v ? "on" : "off"}`);
    switches[k] = v;
  }
  const note = [
    tookTiles.length ? `its tiles (${tookTiles.join(", ")})` : "this problem's tiles",
    took.length ? `its switches (${took.join(", ")})` : "this problem's switches",
  ].join(" and ");
  return { config: { tiles, ...switches }, note };
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
      throw new ProblemError(detail, {
        hint: "rewrite the mod within the offline template's subset, or use a model",
        context: { problemDir: input.problemDir },
      });
    }
    throw new ToolError(`render.py failed: ${detail}`, { context: { tool: "render.py", problemDir: input.problemDir, args } });
  }
}
