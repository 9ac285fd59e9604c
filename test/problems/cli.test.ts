/** `kforge problems` and `problems show` end to end (real CLI subprocesses); `problems new` is in variants.test.ts. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kforge, kforgeInProcess as run } from "./helpers.ts";

/** Tests that start Python with torch get more time: CI machines are small and busy. */
const SLOW = 180_000;

let tmp: string;
let savedHome: string | undefined;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "kforge-home-"));
  savedHome = process.env["KFORGE_HOME"];
  process.env["KFORGE_HOME"] = tmp; // no user variants: the list is the suite alone
});
afterAll(() => {
  if (savedHome === undefined) delete process.env["KFORGE_HOME"];
  else process.env["KFORGE_HOME"] = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

describe("kforge problems", () => {
  it(
    "lists the suite, as text and as JSON (real subprocess)",
    () => {
      const text = kforge(["problems"]);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/^softcap\s+tanh soft-capping .*\[softcap\]$/m);
      const json = kforge(["problems", "list", "--json"]);
      const list = JSON.parse(json.stdout) as { name: string; baseline: string }[];
      expect(list.map((p) => p.name)).toContain("natten_2d");
      expect(list).toHaveLength(12);
    },
    SLOW,
  );

  it("shows one problem with its params, shapes, reference and prompt", async () => {
    const r = await run(["problems", "show", "softcap"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('params: {"cap":30}');
    expect(r.stdout).toContain("benchmark shapes:   4x16x4096x128  2x32x8192x64");
    expect(r.stdout).toContain("return cap * torch.tanh(score / cap)");
    expect(r.stdout).toContain("def attention(q, k, v, *, scale: float, cap: float)");
  });

  it("fails with exit code 2 and the known names for an unknown problem", async () => {
    const r = await run(["problems", "show", "softcapp"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no problem "softcapp"');
    expect(r.stderr).toContain("known problems: alibi");
  });
});
