import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";

const root = repoRoot();
// The interpreter with torch that every Python test uses (KFORGE_PYTHON, python3 or /usr/bin/python3), or a loud failure.
const python = torchPython();
// The CPU Triton emulator is slow and load-sensitive (minutes on a busy 2-core machine): a test here gives up only when
// its child process does, never at vitest's default 60 s.
const EMULATOR_MS = 540_000;
vi.setConfig({ testTimeout: EMULATOR_MS + 30_000 });

function render(problem: string, config: object = {}): string {
  return execFileSync(
    python,
    [join(root, "tools/offline/render.py"), "--problem", join(root, "problems", problem), "--config", JSON.stringify(config)],
    {
      encoding: "utf8",
    },
  );
}

describe("tma switch (K/V through TMA tensor descriptors)", () => {
  it("is off by default; on, the host builds descriptors and the kernel loads K/V through them", () => {
    expect(render("gqa")).toContain("TMA=False");
    const src = render("gqa", { tma: true });
    expect(src).toContain("TMA=True");
    expect(src).toContain("from triton.tools.tensor_descriptor import TensorDescriptor");
    expect(src).toContain("k = desc_k.load([kv_row0 + start_n, 0])");
    expect(src).toContain("v = desc_v.load([kv_row0 + start_n, 0])");
    expect(src).toContain("kv_row0 = (b * (H // GROUP) + hk) * S_KV");
    expect(src).toContain('descs = _kv_descriptors(k, v, block_n) if _CFG["TMA"] else None');
    expect(src).toContain("USE_TMA=descs is not None"); // the pointer path stays for strided inputs
  });
  it("passes the verifier's static checks", () => {
    const src = render("alibi", { tma: true });
    const r = spawnSync(python, ["-c", "import sys; from kforge_harness.static_checks import check_source; print(check_source(sys.stdin.read()))"], {
      input: src,
      encoding: "utf8",
      cwd: join(root, "tools/verifier/harness"),
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("[]");
  });
  // The emulator's TensorDescriptor zero-pads like TMA, so tails (S=17, 257) and GQA rows are checked for real.
  it("every problem is correct on the CPU emulator through the descriptor path", () => {
    const r = spawnSync(
      python,
      [join(root, "test/offline/emu_check.py"), "--config", JSON.stringify({ BLOCK_M: 32, BLOCK_N: 16, tma: true }), "--max-s", "300"],
      {
        encoding: "utf8",
        timeout: EMULATOR_MS,
      },
    );
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(r.status).toBe(0);
  });
});
