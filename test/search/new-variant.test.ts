import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer } from "../queue/redis-server.ts";

const KFORGE = join(import.meta.dirname, "..", "..", "bin", "kforge.js");

// The variant is a CUDA problem searched with the offline policy: on a host without a GPU or Triton the search is
// refused before the variant is made (no-gpu.test.ts, offline-triton.test.ts). Through a queue the workers verify, so
// the search starts here too: with no worker and a short budget it stops while waiting for its baselines, after the
// variant was made and its run created.
let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.down();
});

function kforge(home: string, args: string[]) {
  return spawnSync(process.execPath, [KFORGE, ...args], {
    env: {
      ...process.env,
      KFORGE_HOME: home,
      KFORGE_PROVIDER: "offline",
      KFORGE_PYTHON: process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3",
      KFORGE_QUEUE: redis.url,
      KFORGE_QUEUE_LOCAL: "0",
    },
    encoding: "utf8",
    timeout: 120_000,
  });
}

describe("kforge search --score-mod (a new variant)", () => {
  it("scaffolds the variant under KFORGE_HOME/problems, searches it, and refuses to overwrite it", () => {
    const home = mkdtempSync(join(tmpdir(), "kforge-variant-"));
    const mod = join(home, "softcap_window.py");
    writeFileSync(
      mod,
      "import torch\n\nCAP = 30\nWINDOW = 1024\n\ndef score_mod(score, b, h, q_idx, kv_idx):\n    return CAP * torch.tanh(score / CAP)\n\n" +
        "def mask_mod(b, h, q_idx, kv_idx):\n    return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)\n",
    );
    const first = kforge(home, ["search", "--score-mod", mod, "--mask-mod", mod, "--max-nodes", "1", "--budget", "8s"]);
    expect(first.stdout).toContain("new variant softcap_window");
    expect(first.stdout).toMatch(/run \d{8}-\d{6}-[0-9a-f]{4}/);
    const folder = join(home, "problems", "softcap_window");
    expect(existsSync(join(folder, "problem.json"))).toBe(true);
    const shown = JSON.parse(execFileSync(process.execPath, [KFORGE, "problems", "show", folder, "--json"], { encoding: "utf8" }));
    expect(shown.tags).toEqual(expect.arrayContaining(["softcap", "windowed"]));
    // No worker serves the queue: the budget runs out while the baselines wait (stopped, resumable), not a crash.
    expect(first.status, first.stderr).toBe(75);
    expect(first.stdout).toMatch(/^stopped \(budget:wall\): 0 nodes/m);

    const again = kforge(home, ["search", "--score-mod", mod, "--mask-mod", mod, "--max-nodes", "1"]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('a variant named "softcap_window" already exists');

    const both = kforge(home, ["search", "--problem", "softcap", "--score-mod", mod]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("give either --problem or a variant (--variant, --score-mod/--mask-mod), not both");
  });
});
