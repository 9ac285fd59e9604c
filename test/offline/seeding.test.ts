/**
 * Seeding the offline policy from the memory of wins: a prior win's template config (read from its kernel
 * module) is adapted to a new variant and proposed as a root child, named in the idea and in `seededBy`.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { adaptWinConfig, proposeOfflineCandidates, resolveConfig } from "../../agents/offline/policy.ts";
import { configKey, type ResolvedConfig } from "../../agents/offline/mutate.ts";
import { createOfflineAgents, configOf } from "../../agents/offline-agents.ts";
import { loadConfig, repoRoot } from "../../core/config.ts";
import { scaffoldProblem } from "../../problems/scaffold.ts";
import { loadProblem } from "../../problems/load.ts";
import type { Exemplar, PlanInput } from "../../agents/types.ts";

const root = repoRoot();
const config = loadConfig();
const python = config.python;
const problem = (name: string) => join(root, "problems", name);

/** A win's kernel module: the template rendered for a suite problem with a non-default config. */
async function winSource(name: string, cfg: object): Promise<string> {
  const { execFileSync } = await import("node:child_process");
  return execFileSync(python, [join(root, "tools", "offline", "render.py"), "--problem", problem(name), "--config", JSON.stringify(cfg)], {
    encoding: "utf8",
  });
}

const SOFTCAP_WIN = {
  tiles: { "128": { BLOCK_M: 128, BLOCK_N: 32, num_warps: 8, num_stages: 2 }, "64": { BLOCK_M: 64, BLOCK_N: 64, num_warps: 4, num_stages: 4 } },
  fast_tanh: true,
  qscale: true,
  reverse_m: false,
  mask_split: false,
};
const WINDOW_WIN = {
  tiles: { "128": { BLOCK_M: 64, BLOCK_N: 64, num_warps: 4, num_stages: 2 } },
  reverse_m: false,
  skip_empty: true,
  fast_tanh: false,
};

let combined: string;
let base: ResolvedConfig;
let softcapSrc: string;
let windowSrc: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "kforge-seed-variant-"));
  const mod = join(dir, "softcap_window.py");
  writeFileSync(
    mod,
    "import torch\n\nCAP = 30\nWINDOW = 1024\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return CAP * torch.tanh(score / CAP)\n\n" +
      "def mask_mod(b, h, q_idx, kv_idx):\n    return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)\n",
  );
  combined = await scaffoldProblem({ name: "softcap_window", scoreModPath: mod, maskModPath: mod, dir, python });
  base = await resolveConfig({ problemDir: combined, python, root }, {});
  softcapSrc = await winSource("softcap", SOFTCAP_WIN);
  windowSrc = await winSource("sliding_window", WINDOW_WIN);
});

describe("adaptWinConfig", () => {
  it("a softcap win gives its tiles and tanh/qscale switches; the window's mask switches stay this problem's", () => {
    expect(base.features).toEqual(expect.arrayContaining(["tanh", "mask"]));
    const a = adaptWinConfig(softcapSrc, base, ["128", "64"])!;
    expect(a.config.tiles["128"]).toEqual(SOFTCAP_WIN.tiles["128"]);
    expect(a.config.tiles["64"]).toEqual(SOFTCAP_WIN.tiles["64"]);
    expect(a.config.qscale).toBe(true);
    expect(a.config.fast_tanh).toBe(true);
    // the softcap win had no mask: its reverse_m/mask_split say nothing about a window
    expect(a.config.reverse_m).toBe(base.switches.reverse_m);
    expect(a.config.mask_split).toBe(base.switches.mask_split);
    expect(a.note).toMatch(/its tiles \(D=128 128x32 w8 s2, D=64 64x64 w4 s4\)/);
    expect(a.note).toMatch(/qscale on/);
  });

  it("a sliding-window win gives its mask switches, not its tanh settings (it had no tanh)", () => {
    const a = adaptWinConfig(windowSrc, base, ["128", "64"])!;
    expect(a.config.skip_empty).toBe(true);
    expect(a.config.reverse_m).toBe(false);
    expect(a.config.fast_tanh).toBe(base.switches.fast_tanh);
    expect(a.config.tiles["128"]).toEqual(WINDOW_WIN.tiles["128"]);
    expect(a.config.tiles["64"]).toEqual(base.tiles["64"]); // the win's Config line names no D=64 tiles: this problem's stay
  });

  it("a model-written kernel (no template header) is not adapted", () => {
    expect(adaptWinConfig("import triton\n\ndef attention(q, k, v, scale):\n    ...\n", base, ["128"])).toBeNull();
    expect(adaptWinConfig(softcapSrc.replace(/^Config: .*$/m, "Config: {not json"), base, ["128"])).toBeNull();
  });
});

describe("proposeOfflineCandidates with seeds", () => {
  it("root: default, then one child per usable win (seededBy set, rendered for the new variant), then neighbours", async () => {
    const seeds = [
      { winId: "7", label: "softcap, 2.20x on NVIDIA H100", source: softcapSrc },
      { winId: "9", label: "a model's kernel", source: "def attention(q, k, v, scale): pass\n" },
      { winId: "8", label: "sliding_window, 1.15x on NVIDIA H100", source: windowSrc },
    ];
    const out = await proposeOfflineCandidates({ problemDir: combined, n: 4, seed: 2, python, root, seeds });
    expect(out.map((p) => p.seededBy ?? null)).toEqual([null, ["7"], ["8"], null]);
    expect(out[1]!.idea).toMatch(/^start from memory #7 \(softcap, 2\.20x on NVIDIA H100\): its tiles/);
    expect(out[2]!.idea).toMatch(/^start from memory #8 \(sliding_window/);
    expect(new Set(out.map((p) => configKey(p.config))).size).toBe(4);
    // the seeded child is this variant's kernel: its window mask and softcap are both in the module
    expect(out[1]!.source).toMatch(/problem softcap_window: score_mod translated; mask_mod translated/);
    expect(out[1]!.source).toContain(`"qscale": true`);
  });

  it("seeds take at most half the children, and none below the root", async () => {
    const seeds = [1, 2, 3].map((i) => ({
      winId: String(i),
      label: `win ${i}`,
      source: i === 2 ? windowSrc : softcapSrc.replace('"num_stages": 2', `"num_stages": ${i + 1}`),
    }));
    const out = await proposeOfflineCandidates({ problemDir: combined, n: 4, seed: 2, python, root, seeds });
    expect(out.filter((p) => p.seededBy)).toHaveLength(2);
    const child = await proposeOfflineCandidates({ problemDir: combined, parentConfig: out[1]!.config, n: 3, seed: 2, python, root, seeds });
    expect(child.filter((p) => p.seededBy)).toHaveLength(0);
  });
});

describe("the offline agents' planner", () => {
  it("turns the run's exemplars into seeded root ideas; the config travels in the idea", async () => {
    const agents = createOfflineAgents(config);
    const p = await loadProblem(combined);
    const exemplar: Exemplar = {
      id: "12",
      problem: "softcap",
      speedup: 2.2,
      tflops: 397,
      gpu: "NVIDIA H100 80GB HBM3",
      keyIdeas: [],
      source: softcapSrc,
      why: "shares softcap, tanh",
      score: 0.8,
    };
    const rootView = {
      row: { id: "r.0", label: "0" },
      idea: "",
      kernel: null,
      verification: null,
      critique: null,
      profile: null,
    } as unknown as PlanInput["parent"];
    const input: PlanInput = {
      problem: p,
      parent: rootView,
      ancestry: [],
      tried: [],
      knownIdeas: () => [],
      best: null,
      exemplars: [exemplar],
      count: 4,
      mode: "fresh",
    };
    const plan = await agents.plan(input, { runId: "r", nodeId: "r.0" });
    const seeded = plan.ideas.filter((i) => i.seededBy);
    expect(seeded).toHaveLength(1);
    expect(seeded[0]!.seededBy).toEqual(["12"]);
    expect(seeded[0]!.title).toMatch(/^start from memory #12 \(softcap, 2\.20x on NVIDIA H100 80GB HBM3\)/);
    expect(configOf(seeded[0]!.idea)!.tiles["128"]).toEqual(SOFTCAP_WIN.tiles["128"]);
    expect(plan.rationale).toMatch(/prior wins/);
    // a win that shares no feature with the variant (retrieved only because memory had nothing closer) is not used
    // (each a run of its own: one agents instance never proposes a config twice)
    const unrelated = await createOfflineAgents(config).plan({ ...input, exemplars: [{ ...exemplar, shared: [] }] }, { runId: "r", nodeId: "r.0" });
    expect(unrelated.ideas.filter((i) => i.seededBy)).toHaveLength(0);
    const related = await createOfflineAgents(config).plan(
      { ...input, exemplars: [{ ...exemplar, shared: ["softcap"] }] },
      { runId: "r", nodeId: "r.0" },
    );
    expect(related.ideas.filter((i) => i.seededBy)).toHaveLength(1);
  });

  it("plans in flight at once never propose the same config, though neither sees the other's children in the tree", async () => {
    const agents = createOfflineAgents(config);
    const p = await loadProblem(combined);
    const rootView = { row: { id: "r.0", label: "0" }, idea: "", kernel: null, verification: null, critique: null, profile: null };
    const input: PlanInput = {
      problem: p,
      parent: rootView as unknown as PlanInput["parent"],
      ancestry: [],
      tried: [],
      knownIdeas: () => [], // both took their snapshot of the tree before either's children were recorded
      best: null,
      exemplars: [],
      count: 4,
      mode: "fresh",
    };
    const plans = await Promise.all([1, 2, 3].map((k) => agents.plan(input, { runId: "r", nodeId: `r.${k}` })));
    const keys = plans.flatMap((plan) => plan.ideas.map((i) => configKey(configOf(i.idea)!)));
    expect(keys).toHaveLength(12);
    expect(new Set(keys).size).toBe(12);
    expect(plans.flatMap((plan) => plan.ideas).filter((i) => i.title === "offline template, default config")).toHaveLength(1);
  });
});
