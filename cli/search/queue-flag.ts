/** `--queue URL` of `kforge search` and `kforge resume`: verify through remote GPU workers (tools/queue), as KFORGE_QUEUE does. */
import type { Config } from "../../core/config.ts";
import type { OptionSpec, ParsedArgs } from "../command.ts";

export const QUEUE_FLAG: Record<string, OptionSpec> = {
  queue: {
    type: "string",
    valueName: "URL",
    description: "verify on remote workers through this Redis queue too, redis://[:PASSWORD@]HOST:PORT or rediss:// (default KFORGE_QUEUE)",
  },
};

/** The config with the flag's queue, when given. */
export function withQueueFlag(config: Config, args: ParsedArgs): Config {
  const url = args.values["queue"];
  return typeof url === "string" && url.trim() ? { ...config, queue: { ...config.queue, url: url.trim() } } : config;
}
