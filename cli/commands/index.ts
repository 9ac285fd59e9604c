/** Every `kforge` subcommand, in the order `kforge --help` lists them. */
import type { Command } from "../command.ts";
import { problemsCommand } from "./problems.ts";
import { searchCommand } from "./search.ts";
import { resumeCommand } from "./resume.ts";
import { runsCommand } from "./runs.ts";
import { traceCommand } from "./trace.ts";
import { exportCommand } from "./export.ts";
import { uiCommand } from "./ui.ts";
import { memoryCommand } from "./memory.ts";
import { verifyCommand } from "./verify.ts";
import { doctorCommand } from "./doctor.ts";
import { configCommand } from "./config.ts";
import { benchCommand } from "./bench.ts";
import { workerCommand } from "./worker.ts";
import { workersCommand } from "./workers.ts";

export const commands: Command[] = [
  searchCommand,
  resumeCommand,
  runsCommand,
  problemsCommand,
  traceCommand,
  exportCommand,
  uiCommand,
  memoryCommand,
  verifyCommand,
  doctorCommand,
  configCommand,
  benchCommand,
  workerCommand,
  workersCommand,
];
