/**
 * close() leaves no harness process alive: not the warm spares, not a running job, and not a spare that a
 * discovery still in flight would start after close() (the hang of short searches). Checked by pid, through
 * /proc: every process whose command line names this test's temp root.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProblem } from "../../problems/load.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";
import { CPU_TINY, kernel, testConfig } from "./helpers.ts";

/** Live (non-zombie) processes whose argv mentions `marker`. */
function pidsMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const state = readFileSync(`/proc/${d}/stat`, "utf8").replace(/^.*\) /, "")[0];
      if (cmd.includes(marker) && state !== "Z") out.push(Number(d));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0] !== "Z";
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const problem = loadProblem(CPU_TINY);

describe("VerifierPool.close", () => {
  it("a discovery in flight at close() starts no spare afterwards", async () => {
    const tmpRoot = mkdtempSync(join(tmpdir(), "kforge-close-race-"));
    const pool = createVerifierPool(testConfig(), { problem, tmpRoot }); // starts discovering lanes (and spares) at once
    const pending = pool.measureBaseline(problem); // waits on that discovery
    await pool.close(); // before the discovery has finished
    await expect(pending).rejects.toThrow(/closed/);
    // The discovery has finished now: had it spawned a spare, it would be running.
    await new Promise((r) => setTimeout(r, 500));
    expect(pidsMentioning(tmpRoot)).toEqual([]);
  }, 60_000);

  it("kills the running job and the warm spare, by pid", async () => {
    const tmpRoot = mkdtempSync(join(tmpdir(), "kforge-close-busy-"));
    const pool = createVerifierPool(testConfig(), { problem, tmpRoot, limits: { compile: 60 } });
    const job = pool.verify({ problem, source: kernel("cpu/sleep.py"), timing: false }).catch((e: unknown) => e); // hangs in compile
    // The job's process and its replacement spare, both started.
    expect(await until(() => pidsMentioning(tmpRoot).length >= 2, 30_000)).toBe(true);
    const pids = pidsMentioning(tmpRoot);
    await pool.close();
    expect(await until(() => pids.every((p) => !alive(p)), 5_000), `still alive: ${pids.filter(alive).join(", ")}`).toBe(true);
    expect(pidsMentioning(tmpRoot)).toEqual([]);
    const r = await job;
    expect(r instanceof Error || (r as { status?: string }).status !== "ok").toBe(true);
    // Nothing starts after close: not a baseline, not a verification.
    await expect(pool.measureBaseline(problem)).rejects.toThrow(/closed/);
    await expect(pool.verify({ problem, source: kernel("cpu/good.py"), timing: false })).rejects.toThrow(/closed/);
    expect(pidsMentioning(tmpRoot)).toEqual([]);
  }, 60_000);
});
