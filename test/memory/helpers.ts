/** Shared set-up of the memory tests: a real SQLite file in a fresh temp dir. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type DB } from "../../memory/db.ts";
import type { WinInput } from "../../memory/win-schema.ts";
import { WinsStore } from "../../memory/wins.ts";

/** A path for a new database file in its own temp dir. */
export function tempDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), "kforge-memory-")), "kforge.sqlite");
}

/** A store on a new database file. */
export function openStore(path = tempDbPath()): { db: DB; store: WinsStore; path: string } {
  const db = openDatabase(path);
  return { db, store: new WinsStore(db).setup(), path };
}

export const H100 = "NVIDIA H100 80GB HBM3";
export const A100 = "NVIDIA A100-SXM4-80GB";

/** A minimal valid win; `over` replaces fields. The kernel text includes `tag` so kernels differ. */
export function win(tag: string, over: Partial<WinInput> = {}): WinInput {
  return {
    problem: "softcap",
    description: "tanh soft-capping",
    scoreMod: "def score_mod(score, b, h, q_idx, kv_idx):\n    return cap * torch.tanh(score / cap)\n",
    kernelSource: `# kernel ${tag}\nimport triton\n\ndef attention(q, k, v, *, scale, **params):\n    pass\n`,
    speedup: 1.5,
    tflops: 300,
    shapes: [{ B: 4, H: 16, S: 4096, D: 128 }],
    gpu: H100,
    ideas: ["compute tanh in fp32"],
    runId: "run-1",
    nodeId: `node-${tag}`,
    ...over,
  };
}
