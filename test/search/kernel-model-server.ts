/**
 * The scripted kernel model (script.ts) as a standalone server process, so a benchmark's own process
 * measures only orchestration:
 *   npx tsx test/search/kernel-model-server.ts --fates "ok 1.2,compile_error" [--chunk-chars N] [--delay-ms N]
 * Prints "listening on URL" once ready.
 */
import { startScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "./script.ts";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const fates = (arg("--fates") ?? "ok 1.0").split(",").map((s) => s.trim());
const server = await startScriptedServer(
  kernelModel({
    fates,
    ...(arg("--chunk-chars") ? { chunkChars: Number(arg("--chunk-chars")) } : {}),
    ...(arg("--delay-ms") ? { delayMs: Number(arg("--delay-ms")) } : {}),
  }),
);
console.log(`listening on ${server.baseUrl}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
