/**
 * kill -9 of kforge mid-verification: nothing it started outlives it (the launcher and the sandbox die with their
 * parent, and everything in the sandbox with its PID namespace), and the next start-up sweeps the temp dirs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { sweepStale } from "../../tools/sandbox/sweep.ts";
import { torchPython } from "../verifier/helpers.ts";

const tmpRoot = mkdtempSync(join(tmpdir(), "kforge-kill9-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Pids whose command line mentions the test's temp root (launchers, harnesses, the sleeping grandchild's parent). */
function processesUnder(root: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes(root)) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

const pidNamespace = (pid: number | "self"): string => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return "";
  }
};

/** Pids living in the given PID namespaces (a sandbox's: the candidate's setsid grandchild names no temp dir). */
function processesInNamespaces(namespaces: Set<string>): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => namespaces.has(pidNamespace(p)));
}

const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
};

describe("kill -9 of kforge", () => {
  it("leaves no process behind, and the next start-up sweeps its temp dirs", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot(), "test", "escape", "hold-pool.ts"), tmpRoot], {
      env: { ...process.env, KFORGE_PYTHON: torchPython(), KFORGE_HOME: mkdtempSync(join(tmpdir(), "kforge-kill9-home-")) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    // the busy harness plus a warm spare, each a launcher and a sandboxed process
    expect(await until(() => processesUnder(tmpRoot).length >= 4 && out.includes("verifying"), 90_000), out).toBe(true);
    const sandboxes = new Set<string>();
    const grandchildForked = await until(() => {
      for (const p of processesUnder(tmpRoot)) sandboxes.add(pidNamespace(p));
      sandboxes.delete(pidNamespace("self")); // the launchers live in ours
      const harnesses = processesUnder(tmpRoot).filter((p) => sandboxes.has(pidNamespace(p))).length;
      return processesInNamespaces(sandboxes).length > harnesses; // + the candidate's setsid grandchild
    }, 60_000);
    expect(grandchildForked, out).toBe(true);
    child.kill("SIGKILL");
    expect(await until(() => processesUnder(tmpRoot).length === 0, 10_000), `left: ${processesUnder(tmpRoot).join(",")}`).toBe(true);
    expect(await until(() => processesInNamespaces(sandboxes).length === 0, 5_000)).toBe(true);
    const left = readdirSync(tmpRoot).filter((n) => n.startsWith("kforge-cand-"));
    expect(left.length).toBeGreaterThan(0); // a kill -9 cannot clean up after itself...
    expect(sweepStale(tmpRoot).length).toBe(left.length); // ...the next start-up does
    expect(readdirSync(tmpRoot).filter((n) => n.startsWith("kforge-cand-"))).toEqual([]);
  }, 180_000);
});
