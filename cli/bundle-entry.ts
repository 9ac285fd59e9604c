/** Entry point of the portable bundle (scripts/bundle.ts): runs the CLI with this process's arguments. */
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
