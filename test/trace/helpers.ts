/** Shared setup for the trace explorer's tests: a temp database holding the recorded runs, and the CLI run in-process. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../cli/main.ts";
import { buildLargeRun, buildRecordedRun, type BuiltRun } from "../fixtures/trace-fixture.ts";

/** A temp folder with kforge.sqlite holding the scripted run (and the 1,000-node one when asked). */
export function recordedDb(opts: { large?: boolean; running?: boolean } = {}): {
  dir: string;
  dbPath: string;
  run: BuiltRun;
  large: BuiltRun | null;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), "kforge-trace-"));
  const dbPath = join(dir, "kforge.sqlite");
  const run = buildRecordedRun(dbPath, { running: opts.running });
  const large = opts.large ? buildLargeRun(dbPath) : null;
  return { dir, dbPath, run, large, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `kforge ARGS` in this process; returns the exit code and what it printed. */
export async function kforge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (c) => (stdout += String(c)));
  err.on("data", (c) => (stderr += String(c)));
  const code = await main(args, { stdout: out, stderr: err });
  return { code, stdout, stderr };
}
