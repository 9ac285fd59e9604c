/** Launches Debian's headless Chromium through playwright-core (no downloaded browsers, no network). */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Where Debian's chromium package puts the browser (.ci/run installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser is installed here. */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** A headless browser with a fresh profile (its own --user-data-dir); `close` removes the profile too. */
export async function launchChromium(
  opts: { viewport?: { width: number; height: number }; colorScheme?: "dark" | "light" } = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "kforge-chromium-"));
  // Playwright passes the profile as --user-data-dir itself when given one here.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: opts.viewport ?? { width: 1600, height: 1000 },
    colorScheme: opts.colorScheme ?? "dark",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
