/**
 * The one entry point of the benchmarks: `npm run bench` lists them, `npm run bench -- NAME [ARGS...]`
 * runs one. A benchmark is a folder under bench/ whose README.md names its command on a line
 * `Command: \`...\`` (and what it needs on a line `Needs: ...`); ARGS are appended to that command.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Folders under bench/ that are not benchmarks: the committed results tree, and helpers several benchmarks (and tests) share. */
const NOT_BENCHMARKS = new Set(["results", "_shared"]);

/** One benchmark as its README describes it; `problem` says what is wrong with a README that names no command. */
export interface Benchmark {
  name: string;
  title: string;
  command: string | null;
  needs: string | null;
  problem: string | null;
}

/** Every folder under `benchDir` (results and _shared excluded), with what its README.md says. */
export function listBenchmarks(benchDir: string): Benchmark[] {
  return readdirSync(benchDir)
    .filter((name) => !NOT_BENCHMARKS.has(name) && statSync(join(benchDir, name)).isDirectory())
    .sort()
    .map((name) => describe(benchDir, name));
}

function describe(benchDir: string, name: string): Benchmark {
  const readme = join(benchDir, name, "README.md");
  if (!existsSync(readme))
    return { name, title: "", command: null, needs: null, problem: `bench/${name}/README.md is missing: add one with a line Command: \`...\`` };
  const text = readFileSync(readme, "utf8");
  const command = /^Command:\s*`([^`]+)`\s*$/m.exec(text)?.[1]?.trim() ?? null;
  return {
    name,
    // "# e2e: what it measures" lists as "what it measures" beside the name.
    title: (/^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? "").replace(new RegExp(`^${name}:\\s*`), ""),
    command,
    needs: /^Needs:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? null,
    problem: command ? null : `bench/${name}/README.md names no command: add a line Command: \`...\``,
  };
}

/** The listing `npm run bench` prints. */
export function listing(benchmarks: Benchmark[]): string {
  const width = Math.max(...benchmarks.map((b) => b.name.length));
  const lines = benchmarks.map((b) => {
    const head = `  ${b.name.padEnd(width)}  `;
    if (!b.command) return `${head}(${b.problem})`;
    return `${head}${b.title}\n  ${" ".repeat(width)}    ${b.command}${b.needs ? `   [needs: ${b.needs}]` : ""}`;
  });
  return ["benchmarks (npm run bench -- NAME [ARGS...]; each folder's README.md says more):", ...lines].join("\n");
}

/** Runs benchmark `name` from the repository root with `args` appended; returns its exit code. */
export function runBenchmark(root: string, name: string, args: string[], out: (line: string) => void): number {
  const all = listBenchmarks(join(root, "bench"));
  const b = all.find((x) => x.name === name);
  if (!b) {
    out(`no benchmark "${name}"; the benchmarks are: ${all.map((x) => x.name).join(", ")}`);
    return 2;
  }
  if (!b.command) {
    out(b.problem!);
    return 2;
  }
  out(`bench ${name}: ${b.command}${args.length ? ` ${args.join(" ")}` : ""}${b.needs ? `   (needs: ${b.needs})` : ""}`);
  // bash runs the README's command as written (it may set variables); "$@" passes ARGS through unsplit.
  const r = spawnSync("bash", ["-c", `${b.command} "$@"`, `bench-${name}`, ...args], { cwd: root, stdio: "inherit" });
  if (r.error) {
    out(`could not start bash: ${r.error.message}`);
    return 1;
  }
  return r.status ?? 1;
}

function main(argv: string[]): number {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const [name, ...args] = argv;
  if (!name || name === "--list" || name === "-h" || name === "--help") {
    process.stdout.write(`${listing(listBenchmarks(join(root, "bench")))}\n`);
    return 0;
  }
  return runBenchmark(root, name, args, (line) => process.stderr.write(`${line}\n`));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
