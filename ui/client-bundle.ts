/**
 * The page's script: ui/client/*.ts bundled by esbuild when the server starts (~50 ms), highlight.js
 * included from node_modules, so the page needs nothing from the network. Where esbuild is absent
 * (a portable bundle), a prebuilt ui/static/app.js is used instead (see `writeClientBundle`).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../core/config.ts";
import { ToolError } from "../core/errors.ts";

/** Builds the page's script and returns it as text. */
export async function buildClient(root = repoRoot()): Promise<string> {
  const entry = join(root, "ui", "client", "main.ts");
  const prebuilt = join(root, "ui", "static", "app.js");
  if (!existsSync(entry) && existsSync(prebuilt)) return readFileSync(prebuilt, "utf8");
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (err) {
    if (existsSync(prebuilt)) return readFileSync(prebuilt, "utf8");
    throw new ToolError("the web page's script cannot be built: esbuild is not installed", {
      hint: "run `npm ci` in the kforge checkout",
      cause: err,
    });
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/** Writes the prebuilt script to ui/static/app.js (for bundles shipped without esbuild). */
export async function writeClientBundle(root = repoRoot()): Promise<string> {
  const path = join(root, "ui", "static", "app.js");
  writeFileSync(path, await buildClient(root));
  return path;
}
