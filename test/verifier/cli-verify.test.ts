/** `kforge verify` and `kforge doctor` end to end on the CPU test problem. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main.ts";
import { CPU_TINY, KERNELS, torchPython } from "./helpers.ts";

async function kforge(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr });
  return { code, out, err };
}

const saved = { ...process.env };
beforeAll(() => {
  process.env["KFORGE_PYTHON"] = torchPython();
  process.env["KFORGE_HOME"] = mkdtempSync(join(tmpdir(), "kforge-cli-home-"));
});
afterAll(() => {
  for (const k of ["KFORGE_PYTHON", "KFORGE_HOME"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("kforge verify", () => {
  it("accepts a correct kernel with exit 0 and reports timings (--json)", async () => {
    const r = await kforge("verify", "--problem", CPU_TINY, "--kernel", join(KERNELS, "cpu", "good.py"), "--json");
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out) as { status: string; timings: Array<{ baselines: Record<string, unknown> }> };
    expect(result.status).toBe("ok");
    expect(Object.keys(result.timings[0]?.baselines ?? {})).toEqual(["reference"]);
  }, 120_000);

  it("prints error vs allowance per shape and exits 1 for a wrong kernel", async () => {
    const r = await kforge("verify", "--problem", CPU_TINY, "--kernel", join(KERNELS, "cpu", "wrong.py"), "--no-timing");
    expect(r.code).toBe(1);
    expect(r.out).toContain("result: wrong output");
    expect(r.out).toMatch(/2x4x2x33x16 +\d+ +[\d.e+-]+ +[\d.e+-]+ +FAIL/);
    expect(r.out).toContain("allowance");
  }, 120_000);

  it("reports a runtime error with exit 1", async () => {
    const r = await kforge("verify", "--problem", CPU_TINY, "--kernel", join(KERNELS, "cpu", "raises.py"), "--no-timing");
    expect(r.code).toBe(1);
    expect(r.out).toContain("IndexError");
  }, 120_000);

  it("blames the user for a missing kernel file (exit 2)", async () => {
    const r = await kforge("verify", "--problem", CPU_TINY, "--kernel", "/nonexistent/k.py");
    expect(r.code).toBe(2);
    expect(r.err).toContain("does not exist");
  });
});

describe("kforge doctor", () => {
  it("reports python and torch ok and exits 0", async () => {
    const r = await kforge("doctor", "--json");
    expect(r.code, r.out).toBe(0);
    const checks = JSON.parse(r.out) as Array<{ name: string; status: string }>;
    expect(checks.find((c) => c.name === "torch")?.status).toBe("ok");
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(["python", "triton", "gpu", "ncu", "database"]));
    // every layer of the OS sandbox, each observed from inside a real one, holds on CI (root) and here
    const layers = checks.filter((c) => c.name.startsWith("sandbox: "));
    expect(layers.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "sandbox: pid namespace",
        "sandbox: mount namespace",
        "sandbox: network namespace",
        "sandbox: unprivileged",
        "sandbox: seccomp",
        "sandbox: scrubbed env",
      ]),
    );
    expect(layers.filter((c) => c.status !== "ok")).toEqual([]);
  }, 120_000);

  it("exits 1 when the configured python does not exist", async () => {
    process.env["KFORGE_PYTHON"] = "/nonexistent/python3";
    try {
      const r = await kforge("doctor");
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/missing +python/);
    } finally {
      process.env["KFORGE_PYTHON"] = torchPython();
    }
  }, 120_000);
});
