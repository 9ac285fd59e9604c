/**
 * The portable bundle end to end: built into a temp folder (Node linked, not compressed, so this takes
 * seconds), then run only through its launcher from a foreign working directory: --help, problems --json,
 * the bundled scripted server on loopback, and the launcher's own unpacking of node.xz (xz, then
 * Python's lzma when xz is missing) with a stand-in "node".
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, runtimeTsReferences } from "../../scripts/bundle.ts";
import { LAUNCHER } from "../../scripts/bundle-launcher.ts";

let tmp: string;
let bundle: string;
let bytes: number;

/** The environment of a bare host: no tsx loader, no repo on the path, a private kforge home. */
function hostEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ["PATH", "HOME", "LANG", "TMPDIR"];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k]) env[k] = process.env[k];
  return { ...env, KFORGE_HOME: join(tmp, "home"), KFORGE_PYTHON: process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3", ...extra };
}

/** The base URL a bundled scripted server prints once it listens. */
function listening(server: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise<string>((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    server.on("exit", (code) => fail(new Error(`scripted server exited ${code}`)));
  });
}

function launch(args: string[], env = hostEnv()) {
  return spawnSync(join(bundle, "kforge"), args, { cwd: tmp, env, encoding: "utf8", timeout: 60_000 });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "kforge-bundle-"));
  bundle = join(tmp, "kforge-bundle");
  bytes = await buildBundle(bundle, { linkNode: true });
}, 180_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("portable bundle", () => {
  it("holds the program, the scripted server, the native addon and the run-time files", () => {
    for (const rel of [
      "kforge",
      "kforge.mjs",
      "scripted-server.mjs",
      "better_sqlite3.node",
      "node_modules/better-sqlite3/lib/index.js",
      "problems/softcap/problem.json",
      "problems/_common/flex_eval.py",
      "tools/verifier/harness/kforge_harness/verify.py",
      "tools/profiler/metrics.txt",
      "tools/profiler/profile_driver.py",
      "ui/static/index.html",
      "ui/static/app.js",
    ]) {
      expect(existsSync(join(bundle, rel)), rel).toBe(true);
    }
    expect(existsSync(join(bundle, "problems", "load.ts")), "TypeScript sources are bundled, not copied").toBe(false);
    // A module imported only at run time (through a variable) would be looked for on disk, as .ts, and fail.
    expect(runtimeTsReferences(readFileSync(join(bundle, "kforge.mjs"), "utf8"))).toEqual([]);
    // Node (~25 MB compressed) comes on top; the whole must travel well under the 64 MiB a GPU run may carry.
    expect(bytes).toBeLessThan(20e6);
    expect(readFileSync(join(bundle, "kforge"), "utf8")).toBe(LAUNCHER);
  });

  it("runs --help and problems --json through the launcher, once each", () => {
    const help = launch(["--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout.match(/^usage: kforge/gm)).toHaveLength(1);
    expect(help.stdout).toContain("problems");
    const list = launch(["problems", "--json"]);
    expect(list.status, list.stderr).toBe(0);
    const problems = JSON.parse(list.stdout) as { name: string }[];
    expect(problems.map((p) => p.name)).toEqual(expect.arrayContaining(["softcap", "full", "causal", "natten_2d"]));
    const bad = launch(["no-such-command"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown command");
  });

  it("serves scripted replies from the bundled server on loopback", async () => {
    const script = join(tmp, "script.json");
    writeFileSync(
      script,
      JSON.stringify({ routes: [{ match: { role: "critic" }, replies: [{ content: "judged", reasoning: "thinking", reasoningAs: "reasoning" }] }] }),
    );
    const server = spawn(join(bundle, "kforge"), ["--node", "scripted-server.mjs", "--script", script, "--port", "0"], { cwd: tmp, env: hostEnv() });
    try {
      const url = await listening(server);
      const res = await fetch(`${url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-kforge-role": "critic" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "judge" }] }),
      });
      const body = (await res.json()) as { choices: { message: { content: string; reasoning: string } }[] };
      expect(body.choices[0]!.message).toMatchObject({ content: "judged", reasoning: "thinking" });
    } finally {
      server.kill("SIGTERM");
    }
  });

  it("runs a short search on the CPU test problem through the bundle, its model being the bundled scripted server", async () => {
    const kernel = [
      "import torch",
      "",
      "def attention(q, k, v, *, scale, cap, **params):",
      "    B, H, S, D = q.shape",
      "    rep = H // k.shape[1]",
      "    k = k.float().repeat_interleave(rep, dim=1)",
      "    v = v.float().repeat_interleave(rep, dim=1)",
      "    s = cap * torch.tanh((q.float() @ k.transpose(-1, -2)) * scale / cap)",
      '    s = s.masked_fill(~torch.ones(S, S, dtype=torch.bool).tril(), float("-inf"))',
      "    return (torch.softmax(s, dim=-1) @ v).to(q.dtype)",
    ].join("\n");
    const plan = {
      rationale: "two takes",
      ideas: [
        { title: "Plain softmax", idea: "masked softmax" },
        { title: "Same again", idea: "same" },
      ],
    };
    const script = join(tmp, "cpu-search.json");
    writeFileSync(
      script,
      JSON.stringify({
        routes: [
          {
            match: { role: "planner" },
            replies: [{ content: "```json\n" + JSON.stringify(plan) + "\n```", reasoning: "plan", reasoningAs: "think" }],
            repeat: "last",
          },
          { match: { role: "coder" }, replies: [{ content: "```python\n" + kernel + "\n```", reasoning: "code" }], repeat: "last" },
          {
            match: { role: "critic" },
            replies: [{ content: "```json\n" + JSON.stringify({ critiques: [{ node: "1.1", verdict: "new_best" }] }) + "\n```" }],
            repeat: "last",
          },
        ],
      }),
    );
    const server = spawn(join(bundle, "kforge"), ["--node", "scripted-server.mjs", "--script", script, "--models", "scripted", "--port", "0"], {
      cwd: tmp,
      env: hostEnv(),
    });
    try {
      const url = await listening(server);
      const env = hostEnv({
        KFORGE_PROVIDER: "openai-compatible",
        KFORGE_BASE_URL: url,
        KFORGE_MODEL: "scripted",
        KFORGE_HOME: join(tmp, "search-home"),
      });
      const problem = join(bundle, "test", "fixtures", "problems", "cpu_tiny");
      const search = spawnSync(
        join(bundle, "kforge"),
        ["search", "--problem", problem, "--max-nodes", "2", "--branching", "2", "--budget", "2m", "--json"],
        { cwd: tmp, env, encoding: "utf8", timeout: 150_000 },
      );
      expect(search.status, search.stderr).toBe(0);
      const summary = JSON.parse(search.stdout) as { runId: string; status: string; nodes: number; correct: number };
      expect(summary).toMatchObject({ status: "done", nodes: 2, correct: 2 });
      const runs = JSON.parse(launch(["runs", "--json"], env).stdout) as { id: string }[];
      expect(runs.map((r) => r.id)).toContain(summary.runId);
      const trace = launch(["trace", summary.runId], env);
      expect(trace.status, trace.stderr).toBe(0);
      expect(trace.stdout).toContain("Plain softmax");
    } finally {
      server.kill("SIGTERM");
    }
  }, 180_000);

  it("unpacks node.xz on first use into a cache outside the bundle, with xz or Python's lzma, and says what is missing", () => {
    const dir = join(tmp, "unpack");
    const cache = join(tmp, "node-cache");
    mkdirSync(dir);
    writeFileSync(join(dir, "kforge"), LAUNCHER, { mode: 0o755 });
    writeFileSync(join(dir, "fake-node"), '#!/bin/sh\necho "fake node: $KFORGE_ROOT $*"\n', { mode: 0o755 });
    const xz = spawnSync("sh", ["-c", `xz -c "${join(dir, "fake-node")}" > "${join(dir, "node.xz")}"`]);
    expect(xz.status).toBe(0);
    const run = (path: string, nodeCache = cache) =>
      spawnSync(join(dir, "kforge"), ["problems"], { env: { ...hostEnv(), PATH: path, KFORGE_NODE_CACHE: nodeCache }, encoding: "utf8" });
    const PATH = process.env["PATH"] ?? "/usr/bin:/bin";

    const withXz = run(PATH);
    expect(withXz.stdout.trim()).toBe(`fake node: ${dir} ${join(dir, "kforge.mjs")} problems`);
    // the bundle folder stays as built (it may be copied or carried again); Node sits in the cache
    expect(existsSync(join(dir, "node"))).toBe(false);
    expect(readdirSync(cache)).toEqual([`node-${statSync(join(dir, "node.xz")).size}`]);
    expect(run(PATH).stdout).toContain("fake node:"); // second run: no unpacking needed

    // No xz on the PATH: Python's lzma unpacks it (a bare GPU host may lack xz-utils).
    rmSync(cache, { recursive: true });
    const bin = join(tmp, "bin-no-xz");
    mkdirSync(bin);
    for (const tool of ["sh", "dirname", "chmod", "mv", "rm", "mkdir", "wc", "tr"]) {
      const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      symlinkSync(found, join(bin, tool));
    }
    const withPython = run(bin);
    expect(withPython.stderr).toBe("");
    expect(withPython.stdout.trim()).toContain("fake node:");

    // A cache that cannot be created: Node goes into the bundle folder instead.
    const readOnly = run(PATH, "/proc/kforge-no-such-dir");
    expect(readOnly.stdout).toContain("fake node:");
    expect(existsSync(join(dir, `node-${statSync(join(dir, "node.xz")).size}`))).toBe(true);

    rmSync(join(dir, "node.xz"));
    const missing = run(PATH);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("node.xz is missing");
  });
});
