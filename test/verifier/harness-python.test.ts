/** The harness's own unit tests (tolerance rule, reference math, params, static rules, timing stats), run with the CI's Python. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, torchPython } from "./helpers.ts";

describe("python harness unit tests", () => {
  it("pass under python -m unittest", () => {
    const harness = join(ROOT, "tools", "verifier", "harness");
    const r = spawnSync(torchPython(), ["-m", "unittest", "discover", "-s", "tests", "-t", "."], {
      cwd: harness,
      encoding: "utf8",
      timeout: 300_000,
    });
    const tail = `${r.stdout}\n${r.stderr}`.slice(-3000);
    expect(r.status, tail).toBe(0);
    const ran = /Ran (\d+) tests?/.exec(r.stderr);
    expect(Number(ran?.[1] ?? 0), tail).toBeGreaterThan(25);
  }, 300_000);
});
