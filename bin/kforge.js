#!/usr/bin/env node
// Launcher for running kforge from source: registers tsx's TypeScript loader, then runs the CLI.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
