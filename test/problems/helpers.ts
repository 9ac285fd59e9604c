/** Shared by the problem-suite tests: the torch-capable Python, the reference checker, the CLI. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { main } from "../../cli/main.ts";
import { afterAll, beforeAll } from "vitest";
import { loadConfig, repoRoot } from "../../core/config.ts";

let cachedPython: string | undefined;

/** The interpreter with PyTorch: KFORGE_PYTHON when it has torch (CI sets it), else Debian's /usr/bin/python3. */
export function torchPython(): string {
  if (cachedPython) return cachedPython;
  for (const candidate of [loadConfig().python, "/usr/bin/python3"]) {
    if (spawnSync(candidate, ["-c", "import torch"], { stdio: "ignore" }).status === 0) {
      cachedPython = candidate;
      return candidate;
    }
  }
  throw new Error("no Python with torch found: set KFORGE_PYTHON or install python3-torch");
}

/** One row of check_references.py's report: one shape checked in float64, float32 and bf16. */
export interface ShapeRow {
  shape: { B: number; H: number; Hkv?: number; S: number; D: number };
  modsVsReference?: number;
  float32Error: number;
  bf16Error: number;
  dtypesOk: boolean;
  shapeOk: boolean;
  finite: boolean;
  emptyRows: number;
  emptyRowsZero?: boolean;
}

export interface ProblemReport {
  name: string;
  error?: string;
  shapes: ShapeRow[];
  gqa: ShapeRow & { groupedVsExpanded: number };
  emptyRowCase?: ShapeRow;
}

/** Runs test/problems/check_references.py over problem folders (with optional params that empty some rows). */
export function checkReferences(problems: { dir: string; emptyRowParams?: Record<string, number> }[]): Map<string, ProblemReport> {
  const out = execFileSync(torchPython(), [join(repoRoot(), "test", "problems", "check_references.py")], {
    input: JSON.stringify({ root: repoRoot(), problems }),
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  const report = JSON.parse(out) as { results: ProblemReport[] };
  return new Map(report.results.map((r) => [r.name, r]));
}

/** Runs the CLI's `main` in this process with captured stdout/stderr (cheap: no tsx start-up per call). */
export async function kforgeInProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write: (chunk, _enc, done) => {
        chunks.push(String(chunk));
        done();
      },
    });
    return { stream, text: () => chunks.join("") };
  };
  const out = sink();
  const err = sink();
  const status = await main(args, { stdout: out.stream, stderr: err.stream });
  return { status, stdout: out.text(), stderr: err.text() };
}

/** Runs the real CLI (`node bin/kforge.js ...`) in a subprocess. */
export function kforge(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot(), "bin", "kforge.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, KFORGE_PYTHON: torchPython(), NO_COLOR: "1" },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A private KFORGE_HOME for this test file (made before its tests, removed after), with KFORGE_PYTHON set to the
 * torch-capable Python; both variables are restored afterwards. Returns the home's path (valid once the tests run).
 */
export function useKforgeHome(prefix: string): () => string {
  let home = "";
  let saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), prefix));
    saved = { KFORGE_HOME: process.env["KFORGE_HOME"], KFORGE_PYTHON: process.env["KFORGE_PYTHON"] };
    process.env["KFORGE_HOME"] = home; // the CLI reads its config from the environment
    process.env["KFORGE_PYTHON"] = torchPython();
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  });
  return () => home;
}
