import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { relevantSwitches } from "../../agents/offline/mutate.ts";
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

describe("poly_exp2 switch (part of the exp2s on the FMA pipe)", () => {
  it("is off by default; on, the config block turns the template's POLY constexpr on up to a head dim", () => {
    const off = render("softcap");
    expect(off).toContain("POLY=False");
    const src = render("softcap", { poly_exp2: true, static_max: true });
    expect(src).toContain("POLY=True, POLY_MAX_D=256, POLY_SPLIT=0");
    // the template: every score tile's exp2 goes through _exp2_tile; the per-row alpha stays on MUFU
    expect(src).toContain('"add.rm.f32 $0, $1, 0f4B400000;"');
    expect(src).toContain("tl.split(tl.reshape(x, [BLOCK_M, BLOCK_N // 2, 2]))");
    expect(src).toContain('poly = _CFG["POLY"] and D <= _CFG["POLY_MAX_D"]');
    expect(src).toContain("alpha = tl.math.exp2(m_i - m_use)");
  });
  it("is offered to the search only where tanh also loads the MUFU pipe", () => {
    expect(relevantSwitches(["score_mod", "tanh"])).toContain("poly_exp2");
    expect(relevantSwitches(["mask"])).not.toContain("poly_exp2");
  });
  it("passes the verifier's static checks", () => {
    const r = spawnSync(python, ["-c", "import sys; from kforge_harness.static_checks import check_source; print(check_source(sys.stdin.read()))"], {
      input: render("alibi_causal", { poly_exp2: true }),
      encoding: "utf8",
      cwd: join(root, "tools/verifier/harness"),
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("[]");
  });
  it("_exp2_poly: relative error < 1e-4 on [-126, 0] and exactly 0 for -inf and x <= -127", () => {
    const script = `
import importlib.util, json, sys, torch
sys.path.insert(0, ${JSON.stringify(join(root, "test/offline/triton_emu"))})
path = "/tmp/kforge_poly_exp2_" + str(__import__("os").getpid()) + ".py"
open(path, "w").write(sys.stdin.read())
spec = importlib.util.spec_from_file_location("m", path); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
x = torch.linspace(-126.0, 0.0, 400001)
rel = ((m._exp2_poly(x).double() - torch.exp2(x.double())) / torch.exp2(x.double())).abs().max().item()
low = m._exp2_poly(torch.tensor([float("-inf"), -1e30, -300.0, -127.0])).tolist()
torch.manual_seed(0)
z = -torch.rand(32, 16) * 20
half = (m._exp2_tile(z, 32, 16, True, 0) != torch.exp2(z)).float().mean(0).tolist()
print(json.dumps({"rel": rel, "low": low, "half": half}))
`;
    const r = spawnSync(python, ["-c", script], { input: render("full", { poly_exp2: true }), encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { rel: number; low: number[]; half: number[] };
    expect(out.rel).toBeLessThan(1e-4);
    expect(out.rel).toBeGreaterThan(1e-6); // the polynomial really ran (tl.math.exp2 would be exact here)
    expect(out.low).toEqual([0, 0, 0, 0]);
    // odd columns only: even ones are exactly exp2; an odd one can still round to exp2's value by chance
    out.half.forEach((f, i) => {
      if (i % 2 === 1) expect(f).toBeGreaterThan(0.8);
      else expect(f).toBe(0);
    });
  });
  it("is correct on the CPU emulator (dense, masked, tanh, affine bias, static max)", () => {
    const small = { BLOCK_M: 32, BLOCK_N: 16, poly_exp2: true };
    const args = [join(root, "test/offline/emu_check.py"), "--config", JSON.stringify(small)];
    args.push("--config", JSON.stringify({ ...small, BLOCK_M: 16, BLOCK_N: 32, static_max: true, affine_kv_bias: true, mask_split: false }));
    for (const p of ["full", "gqa", "causal", "document", "relpos", "softcap", "softcap_causal"]) args.push("--problem", p);
    const r = spawnSync(python, args, { encoding: "utf8", timeout: EMULATOR_MS });
    expect(r.stdout).toContain("emu_check: 0 failing");
    expect(r.stdout).toContain('poly_exp2\\": true'); // the rows name the config they ran
    expect(r.status).toBe(0);
  });
});
