/** A test problem with slow baselines and fast correctness checks, and a process finder, for tests that stop or interrupt the baselines. */
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CPU_TINY } from "../verifier/helpers.ts";

/** cpu_tiny whose reference sleeps `seconds` per call on the benchmark shape (S = 64) only: slow baselines, fast checks. */
export function slowBaselineProblem(dir: string, seconds: number): string {
  const slow = join(dir, "cpu_slow_baseline");
  cpSync(CPU_TINY, slow, { recursive: true });
  const spec = JSON.parse(readFileSync(join(slow, "problem.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(slow, "problem.json"), JSON.stringify({ ...spec, name: "cpu_slow_baseline" }, null, 2));
  const slowDown = [
    "",
    "import time as _time  # noqa: E402",
    "_fast_reference = reference",
    "",
    "",
    "def reference(q, k, v, **kw):  # noqa: F811",
    "    if q.shape[-2] == 64:",
    `        _time.sleep(${seconds})`,
    "    return _fast_reference(q, k, v, **kw)",
    "",
  ].join("\n");
  writeFileSync(join(slow, "reference.py"), readFileSync(join(slow, "reference.py"), "utf8") + slowDown);
  return slow;
}

/** Pids of live processes whose command line mentions `needle` (a harness left behind shows up here). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
