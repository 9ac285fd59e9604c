/** `npm run bench`: one entry point that lists every benchmark folder and runs the named one. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listBenchmarks, runBenchmark } from "../../bench/run.ts";
import { repoRoot } from "../../core/config.ts";

const root = repoRoot();
const tmp = mkdtempSync(join(tmpdir(), "kforge-bench-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("npm run bench", () => {
  it("every benchmark folder's README names a command whose script exists", () => {
    const all = listBenchmarks(join(root, "bench"));
    expect(all.map((b) => b.name)).toEqual(
      expect.arrayContaining([
        "e2e",
        "memory",
        "model-path",
        "offline",
        "profiler",
        "ui",
        "memory-retrieval",
        "orchestration-overhead",
        "verify-time",
      ]),
    );
    expect(all.map((b) => b.name)).not.toContain("results");
    expect(all.map((b) => b.name)).not.toContain("_shared");
    for (const b of all) {
      // Every folder is a benchmark: it names its command, what it needs and where its results go.
      expect(b.problem, b.name).toBeNull();
      expect(b.needs, `bench/${b.name}/README.md: a line Needs: ...`).not.toBeNull();
      expect(readFileSync(join(root, "bench", b.name, "README.md"), "utf8"), `bench/${b.name}/README.md: a line Results: ...`).toMatch(
        new RegExp(`^Results: bench/results/${b.name}/`, "m"),
      );
      const scripts = b.command!.split(/\s+/).filter((t) => t.startsWith("bench/"));
      expect(scripts.length, `${b.name}: ${b.command}`).toBeGreaterThan(0);
      for (const s of scripts) expect(existsSync(join(root, s)), `${b.name}: ${s}`).toBe(true);
    }
    // One results tree per benchmark, bench/results/NAME/, beside the two records no benchmark writes.
    const records = ["anchors", "gpu-selftest"];
    const resultDirs = readdirSync(join(root, "bench", "results")).filter((d) => statSync(join(root, "bench", "results", d)).isDirectory());
    for (const d of resultDirs) expect([...all.map((b) => b.name), ...records], `bench/results/${d}/ is no benchmark's`).toContain(d);
    expect(readdirSync(join(root, "bench")).filter((f) => !statSync(join(root, "bench", f)).isDirectory())).toEqual(["run.ts"]);
    const listed = execFileSync("npm", ["run", "--silent", "bench"], { cwd: root, encoding: "utf8" });
    for (const b of all) expect(listed).toContain(`  ${b.name} `);
    expect(listed).toContain("npx tsx bench/memory-retrieval/run.ts");
  });

  it("runs the named benchmark with its arguments (memory retrieval, small), and fails loudly on an unknown name", () => {
    const out = join(tmp, "retrieval");
    const r = spawnSync("npm", ["run", "--silent", "bench", "--", "memory-retrieval", "--wins", "200", "--iterations", "10", "--out", out], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("bench memory-retrieval: npx tsx bench/memory-retrieval/run.ts --wins 200 --iterations 10");
    expect(JSON.parse(readFileSync(join(out, "memory-retrieval.json"), "utf8"))).toMatchObject({ retrieveMs: { n: 10 } });
    const unknown = spawnSync("npm", ["run", "--silent", "bench", "--", "no-such-bench"], { cwd: root, encoding: "utf8" });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no benchmark "no-such-bench"; the benchmarks are: .*memory-retrieval/);
  }, 120_000);

  it("a folder without a README, or a README naming no command, is listed with what to add, and refuses to run", () => {
    const fake = join(tmp, "repo");
    for (const [name, readme] of [
      ["good", "# good: says hi\n\nCommand: `printf '[%s]' from`\n"],
      ["vague", "# vague\n\nRun it somehow.\n"],
      ["bare", null],
    ] as const) {
      mkdirSync(join(fake, "bench", name), { recursive: true });
      if (readme) writeFileSync(join(fake, "bench", name, "README.md"), readme);
    }
    mkdirSync(join(fake, "bench", "results"), { recursive: true });
    const all = listBenchmarks(join(fake, "bench"));
    expect(all.map((b) => [b.name, b.title, b.command])).toEqual([
      ["bare", "", null],
      ["good", "says hi", "printf '[%s]' from"],
      ["vague", "vague", null],
    ]);
    expect(all[0]!.problem).toMatch(/bench\/bare\/README\.md is missing/);
    expect(all[2]!.problem).toMatch(/names no command: add a line Command:/);
    const said: string[] = [];
    expect(runBenchmark(fake, "vague", [], (l) => said.push(l))).toBe(2);
    expect(said.at(-1)).toMatch(/names no command/);
    // ARGS reach the command unsplit.
    const echo = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import("${join(root, "bench", "run.ts")}").then((m) => process.exit(m.runBenchmark(${JSON.stringify(fake)}, "good", ["a b", "c"], () => {})))`,
      ],
      { encoding: "utf8" },
    );
    expect(echo.status, echo.stderr).toBe(0);
    expect(echo.stdout).toBe("[from][a b][c]");
  });
});
