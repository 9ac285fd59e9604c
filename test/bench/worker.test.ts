/**
 * bench/worker/run.sh end to end on this machine, as it runs on a GPU host: the portable bundle built with
 * --with-redis (this machine's redis-server and its libraries, started through the packed loader), a real
 * `kforge worker`, a search that verifies only through the queue (the CPU test problem, the bundled scripted
 * server as its model), doctor, and the summary's checks read back from results.json.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, packRedis, parseBundleArgs } from "../../scripts/bundle.ts";
import { repoRoot } from "../../core/config.ts";

const root = repoRoot();
let tmp: string;
let bundle: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "kforge-worker-bench-"));
  bundle = join(tmp, "kforge-bundle");
  await buildBundle(bundle, { linkNode: true, redis: true });
}, 180_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A bare host's environment: no tsx, no repo on PATH, no model settings, Debian's Python for the verifier. */
function hostEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: tmp, LANG: "C.UTF-8" };
  return { ...env, KFORGE_PYTHON: process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3", ...extra };
}

/** bench/worker/run.sh on the bundle, as a bare host runs it, with these settings. */
function runBench(settings: Record<string, string>) {
  return spawnSync("bash", [join(root, "bench/worker/run.sh")], {
    cwd: tmp,
    encoding: "utf8",
    timeout: 400_000,
    env: hostEnv({ KFORGE_BUNDLE: bundle, ALLOW_NO_GPU: "1", ...settings }),
  });
}

describe("bench/worker: a search through a remote worker and the bundle's Redis", () => {
  it("packs redis-server with every library and its loader; a missing binary is named", () => {
    const lib = readdirSync(join(bundle, "redis", "lib"));
    expect(lib).toEqual(expect.arrayContaining(["redis-server", "libc.so.6"]));
    expect(lib.some((f) => f.startsWith("ld-linux"))).toBe(true);
    // the launcher runs the packed server with nothing of the host's library path
    const v = spawnSync(join(bundle, "redis", "redis-server"), ["--version"], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^Redis server v=\d+\.\d+/);
    expect(() => packRedis(join(tmp, "nowhere"), join(tmp, "no-redis-here"))).toThrow(/--with-redis=.*no-redis-here: no such file/);
  });

  it("the command line: --with-redis PATH packs that file and never mistakes it for the output folder; nothing else is replaced", async () => {
    const fake = join(tmp, "fake");
    mkdirSync(fake, { recursive: true });
    copyFileSync("/usr/bin/redis-server", join(fake, "redis-server"));
    const parsed = parseBundleArgs(["--link-node", "--with-redis", join(fake, "redis-server")]);
    expect(parsed).toMatchObject({ linkNode: true, redis: join(fake, "redis-server"), out: join(root, "dist", "kforge-bundle") });
    expect(parseBundleArgs([join(tmp, "b2"), "--with-redis"])).toMatchObject({ out: join(tmp, "b2"), redis: true });
    expect(parseBundleArgs(["--with-redis=/x/redis-server", join(tmp, "b3")])).toMatchObject({ out: join(tmp, "b3"), redis: "/x/redis-server" });
    expect(() => parseBundleArgs(["--with-redsi"])).toThrow(/unknown option --with-redsi/);
    // an output that is a file, or a folder holding something other than a bundle, is refused and left as it was
    await expect(buildBundle(join(fake, "redis-server"), { linkNode: true })).rejects.toThrow(/is a file, not a bundle folder/);
    expect(statSync(join(fake, "redis-server")).isFile()).toBe(true);
    writeFileSync(join(fake, "notes.txt"), "mine");
    await expect(buildBundle(fake, { linkNode: true })).rejects.toThrow(/holds no bundle \(no kforge.mjs\)/);
    expect(readFileSync(join(fake, "notes.txt"), "utf8")).toBe("mine");
  });

  it("a statically linked server is packed as it is, with a launcher that runs it directly", () => {
    const out = join(tmp, "static");
    packRedis(out, "/sbin/ldconfig"); // a static binary every Debian has, standing in for a static redis-server
    expect(readdirSync(join(out, "redis", "lib"))).toEqual(["redis-server"]);
    expect(readFileSync(join(out, "redis", "redis-server"), "utf8")).toContain('exec "$here/lib/redis-server" "$@"');
    const r = spawnSync(join(out, "redis", "redis-server"), ["--version"], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ldconfig/);
  });

  it("the CPU run passes every check: each kernel verified once, by the worker, listed by doctor, stopped cleanly", () => {
    const out = join(tmp, "out");
    const r = runBench({
      PROBLEM: "cpu_tiny",
      MODEL_SCRIPT: join(root, "bench/worker/cpu_tiny.script.json"),
      MAX_NODES: "4",
      BUDGET: "3m",
      OUT: out,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`redis: ${join(bundle, "redis", "redis-server")} on 127.0.0.1:`);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
      passed: boolean;
      checks: { check: string; ok: boolean }[];
      verifications: { kernels: number; verifications: number; byWorker: Record<string, number> };
      search: { status: string; nodes: number };
      doctorWorker: { detail: string } | null;
    };
    expect(res.checks.map((c) => [c.check, c.ok]).filter(([, ok]) => !ok)).toEqual([]);
    expect(res.checks).toHaveLength(6);
    expect(res.passed).toBe(true);
    expect(res.search).toMatchObject({ status: "done", nodes: 4 });
    expect(res.verifications).toMatchObject({ kernels: 4, verifications: 4 });
    expect(Object.values(res.verifications.byWorker)).toEqual([4]);
    expect(res.doctorWorker?.detail).toMatch(/sandbox \d+\/\d+ layers/);
    expect(readFileSync(join(out, "results.md"), "utf8")).toContain("| every verification came back from the worker | ✅ pass |");
    expect(existsSync(join(out, "worker-logs.tgz"))).toBe(true);
  }, 420_000);

  it("a check can fail: a search that cannot start (a problem that does not exist) fails the summary and the script", () => {
    const out = join(tmp, "out-fail");
    const r = runBench({ PROBLEM: "no_such_problem", MAX_NODES: "2", BUDGET: "30s", OUT: out });
    expect(r.status).toBe(1);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { passed: boolean; checks: { check: string; ok: boolean }[] };
    expect(res.passed).toBe(false);
    expect(res.checks.find((c) => c.check.startsWith("the search ended"))?.ok).toBe(false);
  }, 420_000);
});
