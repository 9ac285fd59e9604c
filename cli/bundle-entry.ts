/** Entry point of the portable bundle (scripts/bundle.ts): runs the CLI with this process's arguments. */
import { main } from "./main.ts";

// Bundled, main.ts shares this file's import.meta.url, so its own "run when I am the script" check fires
// whenever node was given the bundle's canonical path: run main here only when it did not (a symlinked
// path), or the command would run twice.
if (import.meta.url !== `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
