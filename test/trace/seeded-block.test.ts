/** The "seeded from memory" block of a real search: each win's note gives its score breakdown once. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAMILIES, familyWin, rng } from "../../bench/_shared/synthetic-wins.ts";
import { createRun, driveRun, newRunId } from "../../graph/run.ts";
import { openWinsMemory } from "../../graph/wins-memory.ts";
import { WinsStore } from "../../memory/wins.ts";
import { loadProblem } from "../../problems/load.ts";
import { InstantVerifier } from "../fakes/instant-verifier.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "../search/script.ts";
import { searchSetup, tempDb } from "../search/helpers.ts";
import { kforge } from "./helpers.ts";

const count = (text: string, word: string) => text.split(word).length - 1;

describe("seeded from memory, after a search with the model's planner", () => {
  let server: ScriptedServer;
  let t: ReturnType<typeof tempDb>;
  let runId: string;
  beforeAll(async () => {
    server = await startScriptedServer(kernelModel({ fates: ["ok 1.2", "ok 1.4", "compile_error", "ok 1.1"] }));
    t = tempDb();
    const r = rng(3);
    const wins = new WinsStore(t.db).setup();
    for (const [i, family] of FAMILIES.filter((f) => f.problem === "softcap_causal" || f.problem === "causal").entries())
      wins.remember(familyWin(family, r, i));
    const problem = loadProblem("softcap");
    const limits = { wallMs: 60_000, maxNodes: 4 };
    const setup = searchSetup({
      db: t.db,
      store: t.store,
      problem,
      verifier: new InstantVerifier(),
      baseUrl: server.baseUrl,
      limits,
      memory: openWinsMemory(t.db),
      options: { branching: 4, seed: 1, exemplars: 2 },
    });
    runId = newRunId();
    createRun(t.store, { runId, problem: "softcap", limits, options: setup.options, config: {} });
    await driveRun(runId, setup);
  });
  afterAll(async () => {
    await server?.close();
    t?.cleanup();
  });

  it("records each seed's score breakdown once, and `kforge trace` prints it once per win", async () => {
    const seeds = t.store.runSeeds(runId);
    expect(seeds.length).toBeGreaterThan(0);
    for (const s of seeds) {
      expect(s.note, s.note).toMatch(/^in the planner's prompt \(\w+, \d\.\d\dx; total /);
      expect(count(s.note, "total "), s.note).toBe(1);
    }
    const r = await kforge(["trace", runId, "--db", t.path]);
    expect(r.code, r.stderr).toBe(0);
    const block = r.stdout.slice(r.stdout.indexOf("seeded from memory"));
    const lines = block.split("\n").filter((l) => l.startsWith("  #"));
    expect(lines.length).toBe(new Set(seeds.map((s) => s.winId)).size);
    for (const l of lines) expect(count(l, "similarity "), l).toBe(1);
  });
});
