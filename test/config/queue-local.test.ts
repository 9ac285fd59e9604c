/**
 * KFORGE_QUEUE_LOCAL is a switch: 0/1 or false/true (a settings file's JSON false and true too), never "anything but 0
 * is on". `"KFORGE_QUEUE_LOCAL": false` in ./kforge.json, or KFORGE_QUEUE_LOCAL=false in the environment, keeps this
 * machine's lanes out of a queued search: with a queue no worker serves, `kforge search` on the CPU test problem waits
 * and stops on its budget with no node, where true lets this machine verify it. Any other value is an invalid setting
 * naming the values it may take. Real `node bin/kforge.js` child processes against a real redis-server and a scripted
 * model server.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { RedisServer } from "../queue/redis-server.ts";
import { kforgeEnv } from "../search/cli-process.ts";
import { twoIdeaCpuModel } from "../search/cpu-kernels.ts";
import { CPU_TINY } from "../verifier/helpers.ts";

const KFORGE = join(repoRoot(), "bin", "kforge.js");
const ALLOWED = 'Invalid option: expected one of "0"|"1"|"true"|"false"';

describe("KFORGE_QUEUE_LOCAL", () => {
  let server: ScriptedServer;
  let redis: RedisServer;
  let dir: string;
  beforeAll(async () => {
    server = await startScriptedServer(twoIdeaCpuModel("queue local"));
    redis = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), "kforge-queue-local-"));
  });
  afterAll(async () => {
    await server?.close();
    await redis?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh home and project folder (with `project` as its ./kforge.json when given). */
  let n = 0;
  const place = (project?: Record<string, unknown>) => {
    const root = join(dir, `case-${n++}`);
    const home = join(root, "home");
    const cwd = join(root, "project");
    mkdirSync(home, { recursive: true });
    mkdirSync(cwd, { recursive: true });
    const file = join(cwd, "kforge.json");
    if (project) writeFileSync(file, JSON.stringify(project));
    return { home, cwd, file };
  };

  /** `kforge ARGS` in `cwd`, the scripted server as the model, the queue at the test's Redis (no worker serves it). */
  const kforge = (args: string[], where: { home: string; cwd: string }, env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [KFORGE, ...args], {
        cwd: where.cwd,
        env: { ...kforgeEnv(where.home, server.baseUrl), KFORGE_QUEUE: redis.url, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
  const search = (where: { home: string; cwd: string }, env: Record<string, string> = {}) =>
    kforge(["search", "--problem", CPU_TINY, "--max-nodes", "2", "--branching", "2", "--budget", "8s", "--json"], where, env);

  it('"KFORGE_QUEUE_LOCAL": false in ./kforge.json keeps this machine\'s lanes out: the search waits for a worker, no node', async () => {
    const off = place({ KFORGE_QUEUE_LOCAL: false });
    const config = await kforge(["config"], off);
    expect(config.code, config.stdout + config.stderr).toBe(0);
    expect(config.stdout).toMatch(
      new RegExp(`^KFORGE_QUEUE_LOCAL +0 {2}\\(project file ${off.file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\)$`, "m"),
    );

    const r = await search(off);
    expect(r.code, r.stdout + r.stderr).toBe(75);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "stopped", stopReason: "budget:wall", nodes: 0 });
  }, 120_000);

  it("KFORGE_QUEUE_LOCAL=false in the environment does the same; true lets this machine verify the search", async () => {
    const envOff = await search(place(), { KFORGE_QUEUE_LOCAL: "false" });
    expect(envOff.code, envOff.stdout + envOff.stderr).toBe(75);
    expect(JSON.parse(envOff.stdout)).toMatchObject({ status: "stopped", stopReason: "budget:wall", nodes: 0 });

    // true, from the file or (over a file's 0) from the environment: the lanes of this machine serve the queue.
    const on = await search(place({ KFORGE_QUEUE_LOCAL: true }));
    expect(on.code, on.stdout + on.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ status: "done", nodes: 2 });
    const envOn = await search(place({ KFORGE_QUEUE_LOCAL: 0 }), { KFORGE_QUEUE_LOCAL: "TRUE" });
    expect(envOn.code, envOn.stdout + envOn.stderr).toBe(0);
    expect(JSON.parse(envOn.stdout)).toMatchObject({ status: "done", nodes: 2 });
  }, 180_000);

  it("any other value is an invalid setting naming the values it takes, where it was set", async () => {
    const bare = place();
    const runs = await kforge(["runs"], bare, { KFORGE_QUEUE_LOCAL: "no" });
    expect(runs.code).toBe(2);
    expect(runs.stderr).toBe(
      `error (user): setting KFORGE_QUEUE_LOCAL (from the environment) is invalid: ${ALLOWED}\n  hint: fix or unset KFORGE_QUEUE_LOCAL in the environment\n`,
    );
    const config = await kforge(["config"], bare, { KFORGE_QUEUE_LOCAL: "no" });
    expect(config.code).toBe(2);
    expect(config.stdout).toMatch(
      /^KFORGE_QUEUE_LOCAL +no {2}\(environment\) {2}INVALID: Invalid option: expected one of "0"\|"1"\|"true"\|"false"$/m,
    );
    expect(config.stdout).toContain('    hint: KFORGE_QUEUE_LOCAL is "no": set it to one of 0, 1, true, false, or unset it in the environment\n');
    expect(config.stderr).toBe("error (user): 1 invalid setting: KFORGE_QUEUE_LOCAL\n");

    const inFile = place({ KFORGE_QUEUE_LOCAL: "off" });
    const search = await kforge(["search", "--problem", CPU_TINY], inFile);
    expect(search.code).toBe(2);
    expect(search.stderr).toContain(`setting KFORGE_QUEUE_LOCAL (from ${inFile.file}) is invalid: ${ALLOWED}`);
    expect(search.stdout).not.toMatch(/^run /m);
    const fileConfig = await kforge(["config"], inFile);
    expect(fileConfig.stdout).toContain(
      `hint: KFORGE_QUEUE_LOCAL is "off": set it to one of 0, 1, true, false in ${inFile.file}, or remove it from that file`,
    );
  }, 120_000);
});
