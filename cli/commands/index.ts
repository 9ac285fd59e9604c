/** Every `kforge` subcommand, in the order `kforge --help` lists them. */
import type { Command } from "../command.ts";
import { problemsCommand } from "./problems.ts";
import { searchCommand } from "./search.ts";
import { resumeCommand } from "./resume.ts";
import { runsCommand } from "./runs.ts";
import { memoryCommand } from "./memory.ts";

export const commands: Command[] = [searchCommand, resumeCommand, runsCommand, problemsCommand, memoryCommand];
