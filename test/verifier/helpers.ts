/** Shared by the verifier tests: a Python with torch, a config pointing at it, the fixture manifest. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, repoRoot, type Config } from "../../core/config.ts";

export const ROOT = repoRoot();
export const KERNELS = join(ROOT, "test", "fixtures", "kernels");
export const CPU_TINY = join(ROOT, "test", "fixtures", "problems", "cpu_tiny");

let found: string | undefined;

/** KFORGE_PYTHON, else the first of python3 and /usr/bin/python3 that imports torch (Debian's python3-torch in CI). */
export function torchPython(): string {
  if (found) return found;
  const candidates = [process.env["KFORGE_PYTHON"], "python3", "/usr/bin/python3"].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) {
      found = py;
      return py;
    }
  }
  throw new Error(`no Python with torch among ${candidates.join(", ")}: install python3-torch or set KFORGE_PYTHON`);
}

/** A Config whose home is a fresh temp dir and whose Python has torch. */
export function testConfig(extraEnv: Record<string, string> = {}): Config {
  const home = mkdtempSync(join(tmpdir(), "kforge-test-home-"));
  return loadConfig({ ...process.env, KFORGE_PYTHON: torchPython(), KFORGE_HOME: home, ...extraEnv });
}

export interface ManifestEntry {
  file: string;
  problem: string;
  device: "cuda" | "cpu";
  expect: { status: string; rule?: string; line?: number };
  withoutStatic?: { status: string; rule?: string };
  alsoAccept?: Array<{ status: string; rule?: string }>;
  limits?: Record<string, number>;
  hang?: boolean;
}

export function manifest(): ManifestEntry[] {
  return (JSON.parse(readFileSync(join(KERNELS, "manifest.json"), "utf8")) as { kernels: ManifestEntry[] }).kernels;
}

export function kernel(file: string): string {
  return readFileSync(join(KERNELS, file), "utf8");
}
