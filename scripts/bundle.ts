/**
 * `npm run bundle`: a self-contained folder for a GPU host without Node or network:
 *   node.xz                 this machine's Node binary, xz-compressed (unpacked on first run)
 *   kforge.mjs              the whole TypeScript program bundled by esbuild
 *   better_sqlite3.node     the native SQLite addon
 *   problems/ tools/ ui/    the problem suite, the Python harness and offline template, the web page
 *   kforge                  the launcher: `./kforge search --problem softcap --budget 15m`
 */
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const out = resolve(process.argv[2] ?? join(root, "dist", "kforge-bundle"));

/** Folders copied as they are (Python and static assets the program reads at run time). */
const COPIED = ["problems", "tools", "ui/static", "test/fixtures"];

async function main(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  await build({
    entryPoints: [join(root, "cli", "bundle-entry.ts")],
    outfile: join(out, "kforge.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3", "playwright-core", "chromium-bidi"],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  });
  // better-sqlite3's JS is tiny; its native addon is loaded through KFORGE_SQLITE_BINDING.
  const require = createRequire(import.meta.url);
  const bsqlDir = dirname(require.resolve("better-sqlite3/package.json"));
  cpSync(bsqlDir, join(out, "node_modules", "better-sqlite3"), {
    recursive: true,
    filter: (src) => !src.includes(`${"/"}deps${"/"}`) && !src.includes("/src/") && !src.endsWith(".a") && !src.includes("/obj"),
  });
  for (const dep of ["bindings", "file-uri-to-path"]) {
    const p = join(root, "node_modules", dep);
    if (existsSync(p)) cpSync(p, join(out, "node_modules", dep), { recursive: true });
  }
  cpSync(join(bsqlDir, "build", "Release", "better_sqlite3.node"), join(out, "better_sqlite3.node"));
  for (const rel of COPIED) {
    const src = join(root, rel);
    if (!existsSync(src)) continue;
    cpSync(src, join(out, rel), { recursive: true, filter: (p) => !p.includes("__pycache__") && !p.endsWith(".ts") });
  }
  cpSync(join(root, "package.json"), join(out, "package.json"));

  execFileSync("sh", ["-c", `xz -T0 -6 -c "${process.execPath}" > "${join(out, "node.xz")}"`]);
  writeFileSync(join(out, "kforge"), LAUNCHER);
  chmodSync(join(out, "kforge"), 0o755);
  const mb = (p: string) => (statSync(p).size / 1e6).toFixed(1);
  process.stdout.write(`bundle: ${out}\n  node.xz ${mb(join(out, "node.xz"))} MB, kforge.mjs ${mb(join(out, "kforge.mjs"))} MB\n`);
}

const LAUNCHER = `#!/bin/sh
# kforge portable launcher: unpacks the bundled Node on first use, then runs the CLI.
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$here/node" ]; then
  xz -dc "$here/node.xz" > "$here/node.tmp.$$" && chmod +x "$here/node.tmp.$$" && mv "$here/node.tmp.$$" "$here/node" || { echo "kforge: could not unpack node.xz (is xz installed?)" >&2; exit 1; }
fi
export KFORGE_ROOT="$here" KFORGE_SQLITE_BINDING="$here/better_sqlite3.node"
exec "$here/node" "$here/kforge.mjs" "$@"
`;

main().catch((err) => {
  process.stderr.write(`bundle failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
