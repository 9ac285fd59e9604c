/** Every `kforge` subcommand, in the order `kforge --help` lists them. */
import type { Command } from "../command.ts";
import { problemsCommand } from "./problems.ts";
import { memoryCommand } from "./memory.ts";

export const commands: Command[] = [problemsCommand, memoryCommand];
