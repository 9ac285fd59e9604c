/**
 * The per-run log file (`KFORGE_HOME/logs/<run>.log`): one timestamped line per message at or above
 * the level of KFORGE_LOG. Every line passes the redactor first, since messages quote servers and models.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

/** The levels of KFORGE_LOG, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One level of KFORGE_LOG. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A run's log: one method per level, and where it is written. */
export interface RunLog {
  path: string;
  level: LogLevel;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Where run `runId`'s log lives under `home`. */
export function runLogPath(home: string, runId: string): string {
  return join(home, "logs", `${runId}.log`);
}

/**
 * Opens (appending: a resume continues the same file) the log of `runId`. Writes are synchronous so
 * the last lines before a crash are on disk; a write that fails is dropped, never failing the run.
 */
export function openRunLog(home: string, runId: string, level: LogLevel, redact: (text: string) => string): RunLog {
  const path = runLogPath(home, runId);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  appendFileSync(path, "", { mode: 0o600 }); // the file exists from the start, whatever the level lets through
  const min = LOG_LEVELS.indexOf(level);
  const write = (at: LogLevel) => (msg: string) => {
    if (LOG_LEVELS.indexOf(at) < min) return;
    const text = redact(msg).replace(/\r?\n/g, "\n    ");
    try {
      appendFileSync(path, `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${text}\n`, { mode: 0o600 });
    } catch {
      // a full disk or a removed folder: the run's own record is the database, the log is a convenience
    }
  };
  return { path, level, debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
