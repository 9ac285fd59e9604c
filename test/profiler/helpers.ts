/** Shared helpers of the profiler suites: the recorded H100 fixtures and a fake `ncu` on disk. */
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summariseProfile, type CompileRecord } from "../../tools/profiler/parse.ts";
import type { ProfileSummary } from "../../tools/profiler/types.ts";

/** Real Nsight Compute 2025.3 output recorded on an H100 by bench/profiler/record_ncu.sh. */
export const NCU_FIXTURES = join(import.meta.dirname, "..", "fixtures", "ncu");

export function fixtureText(name: string): string {
  return readFileSync(join(NCU_FIXTURES, name), "utf8");
}

export function fixtureDriver(tag: string): { shape: ProfileSummary["shape"]; compile: CompileRecord[] } {
  return JSON.parse(fixtureText(`${tag}.driver.json`));
}

/** The summary of a recorded run (tags: good, spill, tiny, smallgrid, d64, good_skip, good_sections). */
export function fixtureSummary(tag: string, page: "raw" | "raw_auto" | "details" = "raw"): ProfileSummary {
  return summariseProfile(fixtureText(`${tag}.${page}.csv`), fixtureDriver(tag));
}

/** Writes an executable bash script named `ncu` into a fresh temp dir (the body may use the dir), beside copies of the
 * ncu fixtures (the profiling sandbox shows ncu's own folder, not the checkout), and returns its path. */
export function fakeNcu(body: (dir: string) => string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "kforge-fake-ncu-"));
  for (const f of readdirSync(NCU_FIXTURES)) copyFileSync(join(NCU_FIXTURES, f), join(dir, f));
  const path = join(dir, "ncu");
  writeFileSync(path, `#!/bin/bash\n${body(dir)}\n`);
  chmodSync(path, 0o755);
  return { path, dir };
}
