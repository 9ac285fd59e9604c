/**
 * The `Agents` of the offline policy (no model): the planner proposes template configs by mutation
 * (agents/offline/policy.ts), the coder renders a config into a module, the critic and the profiler
 * agent are rules. A child's config travels in its idea text, so a resumed run renders the same
 * kernel without any state kept between plan and code.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot, type Config } from "../core/config.ts";
import { ToolError } from "../core/errors.ts";
import { adviceAsBottlenecks } from "../tools/profiler/advise.ts";
import { proposeOfflineCandidates } from "./offline/policy.ts";
import { configKey, type OfflineConfig } from "./offline/mutate.ts";
import { ruleCritique } from "./critic/rules.ts";
import type { Agents } from "./types.ts";

const run = promisify(execFile);
/** The line of an offline idea that carries its config. */
export const CONFIG_PREFIX = "offline config: ";

/** The offline policy behind the planner/coder/critic/profiler interface. */
export function createOfflineAgents(config: Config): Agents {
  const root = repoRoot();
  const rendered = new Map<string, string>(); // configKey → source, filled by plan (a resume re-renders)
  // Every config proposed in this process and every one in the tree: plans in flight at once share it (the policy
  // claims its picks in it as it makes them), and the tree's ideas carry the configs of earlier processes.
  const tried = new Set<string>();
  return {
    kind: "offline",
    async plan(input, ctx) {
      const parentConfig = configOf(input.parent.idea) ?? {};
      for (const idea of input.knownIdeas()) {
        const c = configOf(idea);
        if (c) tried.add(configKey(c));
      }
      const atRoot = Object.keys(parentConfig).length === 0;
      const proposals = await proposeOfflineCandidates({
        problemDir: input.problem.dir,
        parentConfig,
        ...(atRoot && input.exemplars.length
          ? {
              // Only wins that share a feature with this variant: a softcap config says nothing about a causal mask.
              seeds: input.exemplars
                .filter((e) => e.shared === undefined || e.shared.length > 0)
                .map((e) => ({
                  winId: e.id,
                  label: `${e.problem}, ${e.speedup.toFixed(2)}x${e.gpu ? ` on ${e.gpu}` : ""}`,
                  source: e.source,
                })),
            }
          : {}),
        ...(input.parent.verification ? { parentResult: input.parent.verification } : {}),
        n: input.count,
        seed: seedOf(ctx.nodeId),
        exclude: tried,
        python: config.python,
        root,
      });
      for (const p of proposals) rendered.set(configKey(p.config), p.source);
      return {
        ideas: proposals.map((p) => ({
          title: p.idea.slice(0, 100),
          idea: `${p.idea}\n${CONFIG_PREFIX}${JSON.stringify(p.config)}`,
          ...(p.seededBy ? { seededBy: p.seededBy } : {}),
        })),
        rationale: proposals.some((p) => p.seededBy)
          ? "offline template, prior wins of related variants from memory adapted to this problem, and single-change mutations"
          : "offline template and single-change mutations of the parent's config",
      };
    },
    async code(input) {
      const cfg = configOf(input.idea.idea);
      if (!cfg) return { status: "no_kernel", reason: "this idea carries no offline config (it came from a model)" };
      const source = rendered.get(configKey(cfg)) ?? (await renderConfig(config.python, root, input.problem.dir, cfg));
      return { status: "ok", source, origin: "offline" };
    },
    async critique(input) {
      return new Map(input.candidates.map((c) => [c.view.row.id, ruleCritique(c.view, input.bestSpeedup)]));
    },
    async analyzeProfile(input) {
      return { ...adviceAsBottlenecks(input.summary), source: "rules" as const };
    },
  };
}

/** The config line of an offline idea, or null. */
export function configOf(idea: string): OfflineConfig | null {
  const line = idea.split("\n").find((l) => l.startsWith(CONFIG_PREFIX));
  if (!line) return null;
  try {
    return JSON.parse(line.slice(CONFIG_PREFIX.length)) as OfflineConfig;
  } catch {
    return null;
  }
}

function seedOf(nodeId: string): number {
  return createHash("sha256").update(nodeId).digest().readUInt32LE(0);
}

async function renderConfig(python: string, root: string, problemDir: string, cfg: OfflineConfig): Promise<string> {
  try {
    const { stdout } = await run(python, [join(root, "tools", "offline", "render.py"), "--problem", problemDir, "--config", JSON.stringify(cfg)], {
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    throw new ToolError(`rendering an offline config failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}
