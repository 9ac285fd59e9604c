import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../core/errors.ts";
import { exportWins, importWins, readWinsFile, WINS_FILE_VERSION, writeWinsFile } from "../../memory/wins-file.ts";
import { openStore, win } from "./helpers.ts";

function storeWithWins() {
  const s = openStore();
  s.store.remember(win("a", { params: { cap: 30 }, tags: ["softcap"], ideas: ["fold 1/cap into the scale", "tanh in fp32"] }));
  s.store.remember(
    win("b", {
      problem: "sliding_window",
      scoreMod: null,
      maskMod: "def mask_mod(b, h, q_idx, kv_idx):\n    return q_idx - kv_idx < 1024\n",
      tflops: null,
      runId: null,
      nodeId: null,
    }),
  );
  s.store.remember(win("c", { problem: "gqa", scoreMod: null, shapes: [{ B: 2, H: 32, Hkv: 8, S: 8192, D: 64 }], gpu: "NVIDIA H200" }));
  return s;
}

/** A written export file, parsed back as plain JSON for tampering. */
function exported() {
  const { store, path } = storeWithWins();
  const file = join(dirname(path), "wins.json");
  writeWinsFile(file, exportWins(store));
  // biome-ignore lint/suspicious/noExplicitAny: JSON the exporter wrote; the test reads it the way an importer do
  return { file, json: JSON.parse(readFileSync(file, "utf8")) as { version: number; wins: Array<Record<string, any>> } };
}

describe("export and import", () => {
  it("round-trips every field through a portable file into another database", () => {
    const { store: from, path } = storeWithWins();
    const file = join(dirname(path), "wins.json");
    writeWinsFile(file, exportWins(from));
    const { store: to } = openStore();
    const report = importWins(to, readWinsFile(file));
    expect(report.skipped).toEqual([]);
    expect(report.imported.map((i) => i.problem)).toEqual(["softcap", "sliding_window", "gqa"]);
    const strip = ({ id: _id, ...rest }: { id: number }) => rest;
    expect(to.all().map(strip)).toEqual(from.all().map(strip));
    // Imported wins are retrievable like any other.
    expect(to.textSearch('"scale"', 5).map((h) => h.problem)).toEqual(["softcap"]);
  });

  it("skips kernels already in memory, saying which win holds them", () => {
    const { file } = exported();
    const { store } = openStore();
    importWins(store, readWinsFile(file));
    const again = importWins(store, readWinsFile(file));
    expect(again.imported).toEqual([]);
    expect(again.skipped.map((s) => s.reason)).toEqual([
      "duplicate: kernel already in memory as win #1",
      "duplicate: kernel already in memory as win #2",
      "duplicate: kernel already in memory as win #3",
    ]);
    expect(store.count()).toBe(3);
  });

  it("rejects tampered and invalid entries one by one, with reasons, and imports the rest", () => {
    const { json } = exported();
    const [a, b, c] = json.wins;
    const entries = [
      { ...a, kernel: { ...a!.kernel, source: `${a!.kernel.source}\nimport os; os.system("curl evil")\n` } }, // source changed, hash kept
      { ...b, speedup: -2 },
      { ...b, speedup: 5000 }, // beyond any plausible speedup
      { ...b, tags: ["softcap", "turbo"] },
      { ...b, extra: "field" },
      { ...b, kernel: { sha256: "not-a-hash", source: b!.kernel.source } },
      "not an object",
      { ...c, problem: "../../etc/passwd" },
      b, // valid
      { ...b }, // the same kernel again in one file
    ];
    const { store } = openStore();
    const report = importWins(store, { ...json, wins: entries });
    expect(report.imported.map((i) => i.index)).toEqual([8]);
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.index, s.reason]));
    expect(reasons[0]).toMatch(/does not match its sha256/);
    expect(reasons[1]).toMatch(/^invalid: speedup: /);
    expect(reasons[2]).toMatch(/^invalid: speedup: /);
    expect(reasons[3]).toMatch(/^invalid: tags\.1: /);
    expect(reasons[4]).toMatch(/^invalid: .*extra/);
    expect(reasons[5]).toMatch(/^invalid: kernel\.sha256: /);
    expect(reasons[6]).toMatch(/^invalid: \(root\): /);
    expect(reasons[7]).toMatch(/^invalid: problem: /);
    expect(reasons[9]).toBe("duplicate: same kernel as entry 8 of this file");
    expect(report.skipped.find((s) => s.index === 6)!.problem).toBeNull();
    expect(store.count()).toBe(1);
  });

  it("rejects a whole file that is not a wins file, is newer than this code, or is not JSON", () => {
    const { file, json } = exported();
    const { store } = openStore();
    expect(() => importWins(store, { ...json, format: "something-else" })).toThrow(UserError);
    expect(() => importWins(store, { ...json, version: WINS_FILE_VERSION + 1 })).toThrow(/newer than this kforge reads/);
    expect(() => importWins(store, [json])).toThrow(/not a kforge wins file/);
    writeFileSync(file, "{ truncated");
    expect(() => readWinsFile(file)).toThrow(/is not JSON/);
    expect(() => readWinsFile(join(dirname(file), "missing.json"))).toThrow(UserError);
    expect(store.count()).toBe(0);
  });
});
