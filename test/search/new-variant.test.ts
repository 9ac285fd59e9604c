import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const KFORGE = join(import.meta.dirname, "..", "..", "bin", "kforge.js");

function kforge(home: string, args: string[]) {
  return spawnSync(process.execPath, [KFORGE, ...args], {
    env: { ...process.env, KFORGE_HOME: home, KFORGE_PROVIDER: "offline", KFORGE_PYTHON: process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3" },
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
    const first = kforge(home, ["search", "--score-mod", mod, "--mask-mod", mod, "--max-nodes", "1", "--budget", "30s"]);
    expect(first.stdout).toContain("new variant softcap_window");
    expect(first.stdout).toMatch(/run \d{8}-\d{6}-[0-9a-f]{4}/);
    const folder = join(home, "problems", "softcap_window");
    expect(existsSync(join(folder, "problem.json"))).toBe(true);
    const shown = JSON.parse(execFileSync(process.execPath, [KFORGE, "problems", "show", folder, "--json"], { encoding: "utf8" }));
    expect(shown.tags).toEqual(expect.arrayContaining(["softcap", "windowed"]));
    // On a machine without a GPU the run stops at its baselines with an infrastructure error, not a crash.
    if (first.status !== 0) expect(first.stderr).toMatch(/error \((infra|tool)\)/);

    const again = kforge(home, ["search", "--score-mod", mod, "--mask-mod", mod, "--max-nodes", "1"]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('a variant named "softcap_window" already exists');

    const both = kforge(home, ["search", "--problem", "softcap", "--score-mod", mod]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("either --problem or --score-mod");
  });
});
