/**
 * --variant FILE: one FlexAttention file's score_mod and/or mask_mod as a new variant (search and problems new),
 * through the real CLI and the sandboxed harness; a mix with --score-mod/--mask-mod is refused.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { loadProblem } from "../../problems/load.ts";
import { kforgeInProcess as run, useKforgeHome } from "./helpers.ts";

const zoo = join(repoRoot(), "bench", "variants");
const homeDir = useKforgeHome("kforge-variant-flag-");

describe("--variant FILE", () => {
  it("problems new takes the kinds the file defines: a factory's mask_mod alone, a module-level score_mod alone", async () => {
    const fl = await run(["problems", "new", "fl", "--variant", join(zoo, "flamingo_cross.py")]);
    expect(fl.status, fl.stderr).toBe(0);
    const p = loadProblem(join(homeDir(), "problems", "fl"));
    expect(p.spec.variant?.mask).toEqual({ file: "flamingo_cross.py", symbol: "generate_flamingo_cross", factory: true });
    expect(p.spec.variant?.score).toBeNull();
    expect(p.spec.variant?.captured.map((c) => c.name).sort()).toEqual(["image_of_token", "intervals"]);
    const soft = await run(["problems", "new", "soft", "--variant", join(zoo, "softcap.py")]);
    expect(soft.status, soft.stderr).toBe(0);
    const s = loadProblem(join(homeDir(), "problems", "soft"));
    expect(s.spec.variant?.score?.symbol).toBe("score_mod");
    expect(s.spec.variant?.mask).toBeNull();
  }, 240_000);

  it("FILE:NAME of a plain function takes the kind its arguments say; given as the wrong kind, it says which it is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kforge-two-fns-"));
    const file = join(dir, "two.py");
    writeFileSync(
      file,
      "def my_bias(score, b, h, q_idx, kv_idx):\n    return score + 0.5 * (q_idx - kv_idx)\n\n\n" +
        "def my_causal(b, h, q_idx, kv_idx):\n    return q_idx >= kv_idx\n",
    );
    expect((await run(["problems", "new", "two_score", "--variant", `${file}:my_bias`])).status).toBe(0);
    const s = loadProblem(join(homeDir(), "problems", "two_score")).spec.variant;
    expect([s?.score?.symbol, s?.mask]).toEqual(["my_bias", null]);
    expect((await run(["problems", "new", "two_mask", "--variant", `${file}:my_causal`])).status).toBe(0);
    const m = loadProblem(join(homeDir(), "problems", "two_mask")).spec.variant;
    expect([m?.score, m?.mask?.symbol]).toEqual([null, "my_causal"]);
    const wrong = await run(["problems", "new", "two_wrong", "--mask-mod", `${file}:my_bias`]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain("`my_bias` takes 5 arguments, as a score_mod does, not 4 as a mask_mod: pass it with --score-mod");
    expect(existsSync(join(homeDir(), "problems", "two_wrong"))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  }, 240_000);

  it("a mix with --score-mod or --mask-mod is refused before anything is made, by both commands", async () => {
    const before = readdirSync(join(homeDir(), "problems")).sort();
    for (const args of [
      ["problems", "new", "mix", "--variant", join(zoo, "softcap.py"), "--mask-mod", join(zoo, "causal.py")],
      ["search", "--variant", join(zoo, "softcap.py"), "--score-mod", join(zoo, "softcap.py")],
    ]) {
      const r = await run(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("give --variant FILE, or --score-mod/--mask-mod, not both");
    }
    expect(readdirSync(join(homeDir(), "problems")).sort()).toEqual(before);
  });

  it("search --variant FILE:FACTORY names the variant after the file and, with no GPU here, leaves nothing behind", async () => {
    const r = await run(["search", "--variant", `${join(zoo, "flamingo_cross.py")}:generate_flamingo_cross`, "--budget", "1m"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("flamingo_cross runs on a CUDA GPU");
    expect(r.stderr).toContain("no run was created");
    expect(existsSync(join(homeDir(), "problems", "flamingo_cross"))).toBe(false);
  }, 240_000);
});
