/** Rewrites the settings table of README.md from the config schema: `npx tsx scripts/settings-table.ts` (`--check` only compares). */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../core/config.ts";
import { withSettingsTable } from "../core/settings-table.ts";

const path = join(repoRoot(), "README.md");
const before = readFileSync(path, "utf8");
const after = withSettingsTable(before);
if (process.argv.includes("--check")) {
  if (after !== before) {
    console.error("README.md's settings table is out of date: run `npx tsx scripts/settings-table.ts`");
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(path, after);
  console.log(`README.md: settings table rewritten`);
} else console.log("README.md: settings table up to date");
