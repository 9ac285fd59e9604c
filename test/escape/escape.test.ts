/**
 * The escape suite: hostile candidates (test/fixtures/escape) verified through the real sandboxed pool with the
 * static rules OFF, from a Node process that holds API keys in its environment. Each defence is checked by its
 * effect on the host: files unchanged, markers absent, no socket reached, the secret nowhere, no process left.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { torchPython } from "../verifier/helpers.ts";

const ROOT = repoRoot();
const tag = randomBytes(6).toString("hex");
const secret = `sk-escape-${randomBytes(12).toString("hex")}`;
const homeToken = `home-token-${tag}`;
const home = mkdtempSync(join(tmpdir(), "kforge-escape-home-"));
const db = join(home, "kforge.sqlite");
const targets = {
  secret,
  db,
  marker: join(tmpdir(), `kforge-escape-marker-${tag}`),
  checkout_file: join(ROOT, `.escape-planted-${tag}`),
  home_file: join(homedir(), `.kforge-escape-planted-${tag}`),
  socket: join(tmpdir(), `kforge-escape-${tag}.sock`),
  abstract_socket: `kforge-escape-${tag}`,
  sleep_token: String(3_000_000 + Math.floor(Math.random() * 900_000)),
  bomb_token: String(4_000_000 + Math.floor(Math.random() * 900_000)),
  alloc_bytes: 40 * 1024 ** 3,
  fork_cap: 3000,
};
const planted = [targets.checkout_file, targets.home_file];
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
let servers: Server[] = [];
let connections = 0;
let before: Record<string, string> = {};

interface Row {
  name: string;
  ms: number;
  result: { status: string; message?: string; [k: string]: unknown };
}

/** Runs the named hostile modules in a child Node process whose environment holds the secret. */
function runEscapes(names: string[], userns: boolean): Promise<{ rows: Row[]; output: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DEEPSEEK_API_KEY: secret, KFORGE_API_KEY: secret, KFORGE_HOME: home, KFORGE_DB: db, KFORGE_PYTHON: torchPython() };
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test", "escape", "run-escapes.ts")], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`run-escapes exited ${code}: ${err.slice(-3000)}`));
      resolve({
        rows: out
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Row),
        output: out + err,
      });
    });
    child.stdin.end(JSON.stringify({ names, targets, userns }));
  });
}

function processesWith(token: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(token)) found.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return found;
}

/** The effects no hostile module may have had, whatever status it ended with. */
function expectNoHarm(rows: Row[], output: string): void {
  expect(output).not.toContain(secret);
  expect(output).not.toContain(homeToken);
  expect(existsSync(targets.marker), "a marker written on the host").toBe(false);
  expect(existsSync(`${targets.marker}.db`)).toBe(false);
  expect(sha(db), "the database changed").toBe(before["db"]);
  for (const p of planted) expect(sha(p), `${p} changed`).toBe(before[p]);
  expect(connections, "a host unix socket was reached").toBe(0);
  expect(processesWith(targets.sleep_token), "a setsid grandchild outlived the candidate").toEqual([]);
  expect(processesWith(targets.bomb_token), "fork-bomb children outlived the candidate").toEqual([]);
  for (const r of rows) expect(JSON.stringify(r)).not.toContain(secret);
}

beforeAll(async () => {
  const d = new Database(db);
  d.exec("CREATE TABLE runs (id TEXT); INSERT INTO runs VALUES ('r1'), ('r2');");
  d.close();
  for (const p of planted) writeFileSync(p, `${homeToken}\n`);
  before = Object.fromEntries([["db", sha(db)], ...planted.map((p) => [p, sha(p)])]);
  const listen = (addr: string) =>
    new Promise<Server>((resolve) => {
      const s = createServer((c) => {
        connections++;
        c.destroy();
      });
      s.listen(addr, () => resolve(s));
    });
  servers = [await listen(targets.socket), await listen(`\0${targets.abstract_socket}`)];
});

afterAll(() => {
  for (const s of servers) s.close();
  for (const p of [...planted, targets.marker, `${targets.marker}.db`]) rmSync(p, { force: true });
  rmSync(home, { recursive: true, force: true });
});

const ALL = [
  "read_environ",
  "posix_system",
  "ctypes_syscalls",
  "fork_setsid",
  "write_db",
  "write_outside",
  "unix_socket",
  "alloc_huge",
  "fork_bomb",
  "kill_parent",
  "read_home",
];

describe("hostile kernels, static rules off: the operating system contains them", () => {
  it("every escape does no harm; each ends as data, not as a leak", async () => {
    const { rows, output } = await runEscapes(ALL, false);
    expect(rows.map((r) => r.name)).toEqual(ALL);
    expectNoHarm(rows, output);
    const by = Object.fromEntries(rows.map((r) => [r.name, r.result]));
    // what each attempt observed from inside, where the module reports it as a failure message
    expect(String(by["alloc_huge"]?.message)).toMatch(/MemoryError/);
    const forks = /ESCAPE-FORKS (\d+)/.exec(String(by["fork_bomb"]?.message));
    expect(Number(forks?.[1] ?? Infinity), "forks were not bounded").toBeLessThan(600);
    expect(String(by["read_home"]?.message)).toMatch(/No such file or directory/);
    // signals reach nothing outside the candidate's PID namespace: kforge lived on to verify the next module
    expect(by["kill_parent"]?.status).toBeTypeOf("string");
    expect(rows.at(-1)?.name).toBe("read_home");
    // a candidate that escaped nothing still verifies: the sandbox does not break honest work
    for (const name of ["posix_system", "ctypes_syscalls", "fork_setsid", "write_db", "write_outside", "unix_socket"])
      expect(by[name]?.status, name).toBe("ok");
    // the setsid grandchild no longer holds the verification hostage (it took 353 s before the sandbox)
    expect(rows.find((r) => r.name === "fork_setsid")?.ms ?? Infinity).toBeLessThan(60_000);
  }, 600_000);

  it("holds in a user namespace too (the path for non-root users)", async () => {
    const names = ["read_environ", "write_db", "fork_setsid", "write_outside", "read_home"];
    const { rows, output } = await runEscapes(names, true);
    expect(rows.map((r) => r.name)).toEqual(names);
    expectNoHarm(rows, output);
  }, 600_000);
});
