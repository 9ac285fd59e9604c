/**
 * What a killed kforge leaves behind: candidate and profile temp dirs (and, from older versions, harness processes
 * that outlived it). Every temp dir records its owner (pid and start time of the kforge process); at start-up the
 * verifier sweeps dirs whose owner is gone and kills processes still working in them.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const OWNER_FILE = ".kforge-owner";
/** Prefixes of the temp dirs kforge creates for sandboxed work. */
export const TEMP_PREFIXES = ["kforge-cand-", "kforge-prof-"];

/** The start time of a process (clock ticks since boot), which with the pid identifies it across pid reuse. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Marks a temp dir as this process's, so a later start-up can tell it from a live run's. */
export function claimTempDir(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${startTime(process.pid) ?? "?"}\n`);
}

/** Whether a live process owns the dir; a dir without an owner file counts as owned for its first minute
 * (another kforge may have just created it) and as abandoned after. */
function ownerAlive(dir: string): boolean {
  try {
    const [pid, start] = readFileSync(join(dir, OWNER_FILE), "utf8").trim().split(" ");
    return startTime(Number(pid)) === start;
  } catch {
    try {
      return Date.now() - statSync(dir).mtimeMs < 60_000;
    } catch {
      return true; // already gone
    }
  }
}

/** Processes whose command line names `dir` (a harness or ncu working there). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (
        readFileSync(`/proc/${p}/cmdline`, "utf8")
          .split("\0")
          .some((a) => a === dir || a.startsWith(`${dir}/`))
      )
        pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Removes the temp dirs of dead kforge processes (killing what still runs in them); returns what it removed. */
export function sweepStale(root = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names.filter((n) => TEMP_PREFIXES.some((p) => n.startsWith(p)))) {
    const dir = join(root, name);
    if (ownerAlive(dir)) continue;
    for (const pid of processesIn(dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
