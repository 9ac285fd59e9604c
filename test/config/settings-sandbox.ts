/** Shared by the settings tests: a private home and project folder per test, and `node bin/kforge.js` run there. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../core/config.ts";

const KFORGE = join(repoRoot(), "bin", "kforge.js");

/** A temp dir holding `home` (KFORGE_HOME, with its config.json path) and `project` (the cwd, with ./kforge.json). */
export interface SettingsSandbox {
  dir: string;
  home: string;
  project: string;
  projectFile: string;
  homeFile: string;
}

export function newSettingsSandbox(prefix: string): SettingsSandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const home = join(dir, "home");
  const project = join(dir, "project");
  mkdirSync(home);
  mkdirSync(project);
  return { dir, home, project, projectFile: join(project, "kforge.json"), homeFile: join(home, "config.json") };
}

/** `kforge ARGS` in the sandbox's project folder with only PATH, HOME and KFORGE_HOME set (plus `env`). */
export function kforgeIn(box: Pick<SettingsSandbox, "dir" | "home" | "project">, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [KFORGE, ...args], {
    cwd: box.project,
    env: { PATH: process.env["PATH"], HOME: box.dir, KFORGE_HOME: box.home, ...env },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
