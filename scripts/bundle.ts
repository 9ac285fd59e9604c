/**
 * `npm run bundle [-- OUT_DIR] [--link-node]`: a self-contained folder for a GPU host without Node or network:
 *   node.xz                 this machine's Node binary, xz-compressed (unpacked on first run, to ~/.cache/kforge)
 *   kforge.mjs              the whole TypeScript program bundled by esbuild
 *   scripted-server.mjs     the scripted OpenAI-compatible server (bench/model-path drives the agents with it)
 *   better_sqlite3.node     the native SQLite addon (node_modules/better-sqlite3 keeps only its JS)
 *   problems/ tools/ ui/    the problem suite, the Python harness and offline template, the web page (app.js prebuilt)
 *   test/fixtures           test problems and kernels (a CPU smoke search runs from the bundle)
 *   kforge                  the launcher: `./kforge search --problem softcap --budget 15m`
 *   redis/                  with `--with-redis[=PATH]` only: this machine's redis-server (or PATH) and every library
 *                           it links, glibc's loader included, behind `redis/redis-server` (a queue for remote
 *                           workers on a host with no package manager)
 * `--link-node` links this machine's node instead of compressing it (seconds instead of minutes; for tests).
 */
import { build, type Plugin } from "esbuild";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve, sep } from "node:path";
import { LAUNCHER } from "./bundle-launcher.ts";

const root = resolve(import.meta.dirname, "..");

/** Folders copied as they are (Python and static assets the program reads at run time through repoRoot()). */
const COPIED = ["problems", "tools", "ui/static", "test/fixtures"];
/** Never shipped: sources (bundled already), caches, editor and OS debris. */
const SKIP = [/\.ts$/, /__pycache__/, /\.pyc$/, /\.DS_Store$/];
/** Packages the program resolves at run time instead of bundling (native code, or optional tools it can live without). */
const EXTERNAL = ["better-sqlite3", "playwright-core", "chromium-bidi", "esbuild"];

/**
 * `const MOD = "../x.ts"; await import(MOD)` (a lazy import of a module that may not exist yet) is
 * invisible to esbuild and would fail at run time in the bundle: rewrite it to a literal import when
 * the module exists, so it is bundled like any other.
 */
export const followConstImports: Plugin = {
  name: "follow-const-imports",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      if (!/\bimport\(\s*[A-Za-z_$][\w$]*\s*\)/.test(text)) return undefined;
      const consts = new Map([...text.matchAll(/^const\s+([A-Za-z_$][\w$]*)\s*=\s*"([^"]+\.ts)";/gm)].map((m) => [m[1]!, m[2]!]));
      const contents = text.replace(/\bimport\(\s*([A-Za-z_$][\w$]*)\s*\)/g, (whole, name: string) => {
        const target = consts.get(name);
        return target && existsSync(resolve(dirname(args.path), target)) ? `import(${JSON.stringify(target)})` : whole;
      });
      return { contents, loader: "ts" };
    });
  },
};

/** Relative TypeScript paths left in the output: modules the bundle would try to load from disk at run time. */
export function runtimeTsReferences(bundled: string): string[] {
  return [...new Set([...bundled.matchAll(/["'](\.{1,2}\/[^"'\n]+\.ts)["']/g)].map((m) => m[1]!))];
}

/** Bundles one TypeScript entry point into a single ESM file for Node 20. */
async function bundleEntry(entry: string, outfile: string): Promise<void> {
  await build({
    plugins: [followConstImports],
    absWorkingDir: root, // module keys relative to the repo: a "../x.ts" string left in the output is a real run-time import
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: EXTERNAL,
    // Some bundled CommonJS dependencies call require(); ESM output has none unless we make one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  });
}

/** better-sqlite3's JS and the two tiny packages it requires; its addon is loaded from KFORGE_SQLITE_BINDING. */
function copySqlite(out: string): void {
  const require = createRequire(import.meta.url);
  const bsqlDir = dirname(require.resolve("better-sqlite3/package.json"));
  const dest = join(out, "node_modules", "better-sqlite3");
  mkdirSync(dest, { recursive: true });
  cpSync(join(bsqlDir, "package.json"), join(dest, "package.json"));
  cpSync(join(bsqlDir, "lib"), join(dest, "lib"), { recursive: true });
  for (const dep of ["bindings", "file-uri-to-path"]) {
    const p = join(root, "node_modules", dep);
    if (existsSync(p)) cpSync(p, join(out, "node_modules", dep), { recursive: true });
  }
  cpSync(join(bsqlDir, "build", "Release", "better_sqlite3.node"), join(out, "better_sqlite3.node"));
}

/** The trace page's script, prebuilt: the bundle has no esbuild, so `kforge ui` serves ui/static/app.js. */
async function writeUiScript(out: string): Promise<void> {
  if (!existsSync(join(root, "ui", "client", "main.ts"))) return;
  const { buildClient } = await import("../ui/client-bundle.ts");
  writeFileSync(join(out, "ui", "static", "app.js"), await buildClient(root));
}

/** Node for the launcher: xz-compressed (portable), or a link to this machine's binary (`--link-node`, tests). */
function placeNode(out: string, link: boolean): void {
  if (link) return symlinkSync(process.execPath, join(out, "node"));
  execFileSync("sh", ["-c", `xz -T0 -6 -c "${process.execPath}" > "${join(out, "node.xz")}"`]);
}

/** The launcher of the bundled Redis: the packed loader runs the server against the packed libraries only. */
export function redisLauncher(loader: string | null): string {
  return [
    "#!/bin/sh",
    "# Redis from the kforge bundle: the server with every library it links, glibc's loader included, so it runs on a",
    "# host whose system libraries differ or are missing (a GPU host with no package manager). Arguments as redis-server's.",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion (the launcher needs no dirname)
    'case "$0" in */*) here=${0%/*} ;; *) here=. ;; esac',
    loader === null ? 'exec "$here/lib/redis-server" "$@"' : `exec "$here/lib/${loader}" --library-path "$here/lib" "$here/lib/redis-server" "$@"`,
    "",
  ].join("\n");
}

/**
 * Packs a redis-server binary into out/redis: the binary and each library `ldd` resolves (the dynamic loader too)
 * under lib/, and the launcher redis/redis-server. Throws with what to install or pass when there is none.
 */
export function packRedis(out: string, binary?: string): string {
  const found = binary ?? spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!found || !existsSync(found)) {
    throw new Error(
      binary
        ? `--with-redis=${binary}: no such file`
        : "--with-redis: no redis-server on this machine's PATH (install Debian's redis-server, or pass --with-redis=/path/to/redis-server)",
    );
  }
  const ldd = spawnSync("ldd", [found], { encoding: "utf8" });
  const lib = join(out, "redis", "lib");
  mkdirSync(lib, { recursive: true });
  if (/statically linked|not a dynamic executable/.test(`${ldd.stdout}${ldd.stderr}`)) {
    // a static server needs no libraries: it runs as it is
    cpSync(realpathSync(found), join(lib, "redis-server"));
    chmodSync(join(lib, "redis-server"), 0o755);
    writeFileSync(join(out, "redis", "redis-server"), redisLauncher(null));
    chmodSync(join(out, "redis", "redis-server"), 0o755);
    return join(out, "redis", "redis-server");
  }
  if (ldd.status !== 0) throw new Error(`--with-redis: ldd ${found} failed (a foreign binary?): ${ldd.stderr.trim() || ldd.stdout.trim()}`);
  let loader = "";
  for (const line of ldd.stdout.split("\n")) {
    const linked = /^\s*(\S+) => (\/\S+) \(0x/.exec(line);
    const self = /^\s*(\/\S*ld-linux\S*) \(0x/.exec(line);
    if (linked) cpSync(realpathSync(linked[2]!), join(lib, linked[1]!));
    else if (self) {
      loader = basename(self[1]!);
      cpSync(realpathSync(self[1]!), join(lib, loader));
    } else if (/not found/.test(line)) throw new Error(`--with-redis: ${found} links a library this machine lacks: ${line.trim()}`);
  }
  if (!loader) throw new Error(`--with-redis: ldd names no dynamic loader for ${found}`);
  cpSync(realpathSync(found), join(lib, "redis-server"));
  chmodSync(join(lib, loader), 0o755);
  chmodSync(join(lib, "redis-server"), 0o755);
  writeFileSync(join(out, "redis", "redis-server"), redisLauncher(loader));
  chmodSync(join(out, "redis", "redis-server"), 0o755);
  return join(out, "redis", "redis-server");
}

/** `out` is replaced whole: only where nothing is, an empty folder, or an earlier bundle (its kforge.mjs) may go. */
function refuseToReplace(out: string): void {
  const st = statSync(out, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) throw new Error(`${out} is a file, not a bundle folder: refusing to replace it (name another output folder)`);
  if (readdirSync(out).length > 0 && !existsSync(join(out, "kforge.mjs"))) {
    throw new Error(`${out} is a folder that holds no bundle (no kforge.mjs): refusing to replace it (name a new or empty folder)`);
  }
}

/** Builds the bundle into `out` (replacing it) and returns its size in bytes, node excluded when linked. */
export async function buildBundle(out: string, opts: { linkNode?: boolean; redis?: boolean | string } = {}): Promise<number> {
  refuseToReplace(out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await bundleEntry(join("cli", "bundle-entry.ts"), join(out, "kforge.mjs"));
  await bundleEntry(join("tools", "scripted-server", "server.ts"), join(out, "scripted-server.mjs"));
  const missing = runtimeTsReferences(readFileSync(join(out, "kforge.mjs"), "utf8"));
  if (missing.length > 0) {
    process.stderr.write(
      `bundle: WARNING: kforge.mjs loads ${missing.join(", ")} at run time (a dynamic import of a module that does not exist): that part of kforge will fail from the bundle\n`,
    );
  }
  copySqlite(out);
  for (const rel of COPIED) {
    const src = join(root, rel);
    if (!existsSync(src)) continue;
    cpSync(src, join(out, rel), { recursive: true, filter: (p) => !SKIP.some((re) => re.test(p)) });
  }
  await writeUiScript(out);
  cpSync(join(root, "package.json"), join(out, "package.json"));
  placeNode(out, opts.linkNode === true);
  writeFileSync(join(out, "kforge"), LAUNCHER);
  chmodSync(join(out, "kforge"), 0o755);
  if (opts.redis) packRedis(out, typeof opts.redis === "string" ? opts.redis : undefined);
  return du(out);
}

function du(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return Number(execFileSync("du", ["-sb", "--apparent-size", path], { encoding: "utf8" }).split(/\s/)[0] ?? 0);
}

/** The command line: `[OUT_DIR] [--link-node] [--with-redis[=PATH] | --with-redis PATH]`; anything else is refused. */
export function parseBundleArgs(argv: string[]): { out: string; linkNode: boolean; redis: boolean | string } {
  let linkNode = false;
  let redis: boolean | string = false;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--link-node") linkNode = true;
    else if (a.startsWith("--with-redis=")) redis = resolve(a.slice("--with-redis=".length));
    else if (a === "--with-redis") {
      // a following path to a file (not a folder) is the server to pack; OUT stays positional
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--") && existsSync(next) && statSync(next).isFile()) {
        redis = resolve(next);
        i++;
      } else redis = true;
    } else if (a.startsWith("--")) throw new Error(`unknown option ${a} (usage: npm run bundle -- [OUT_DIR] [--link-node] [--with-redis[=PATH]])`);
    else positional.push(a);
  }
  if (positional.length > 1) throw new Error(`one output folder, not ${positional.length}: ${positional.join(" ")}`);
  return { out: resolve(positional[0] ?? join(root, "dist", "kforge-bundle")), linkNode, redis };
}

async function main(argv: string[]): Promise<void> {
  const { out, linkNode, redis } = parseBundleArgs(argv);
  const bytes = await buildBundle(out, { linkNode, redis });
  const mb = (p: string) => (du(p) / 1e6).toFixed(1);
  process.stdout.write(
    `bundle: ${out}${sep}\n  ${linkNode ? "node linked (not portable)" : `node.xz ${mb(join(out, "node.xz"))} MB`}, kforge.mjs ${mb(join(out, "kforge.mjs"))} MB, ` +
      `scripted-server.mjs ${mb(join(out, "scripted-server.mjs"))} MB, ${redis ? `redis/ ${mb(join(out, "redis"))} MB, ` : ""}total ${(bytes / 1e6).toFixed(1)} MB\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bundle failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
