/**
 * Opens a recorded kforge database in the real trace UI (ui/server.ts) with Debian's headless Chromium and
 * saves screenshots: the run's tree, then each named node's panel. Used to check that a trace recorded on a
 * GPU host opens in `kforge ui`.
 *
 *   npx tsx bench/ui/screenshot.ts --db kforge.sqlite --run RUN --out DIR [--node 2.2 --node 3.2 ...]
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startUiServer } from "../../ui/server.ts";
import { launchChromium } from "../../test/ui/chromium.ts";

const { values } = parseArgs({
  options: { db: { type: "string" }, run: { type: "string" }, out: { type: "string" }, node: { type: "string", multiple: true } },
});
if (!values.db || !values.run || !values.out) {
  console.error("usage: npx tsx bench/ui/screenshot.ts --db FILE --run RUN --out DIR [--node LABEL ...]");
  process.exit(2);
}
mkdirSync(values.out, { recursive: true });
const server = await startUiServer({ dbPath: values.db, port: 0, pollMs: 1000 });
const browser = await launchChromium({ viewport: { width: 1600, height: 1000 }, colorScheme: "dark" });
const errors: string[] = [];
try {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
  await page.goto(`${server.url}#/run/${values.run}`);
  await page.waitForFunction(() => (window as unknown as { __kforgeRendered?: number }).__kforgeRendered !== undefined);
  const count = await page.locator("#tree-count").textContent();
  await page.screenshot({ path: join(values.out, "run-tree.png") });
  console.log(`run ${values.run}: ${count}; saved run-tree.png`);
  for (const label of values.node ?? []) {
    const id = `${values.run}.${label}`;
    const pos = await page.evaluate(
      (nid) =>
        (window as unknown as { __kforge: { view: { screenPosition(id: string): { x: number; y: number } | null } } }).__kforge.view.screenPosition(
          nid,
        ),
      id,
    );
    if (!pos) throw new Error(`node ${label} is not drawn`);
    await page.mouse.click(pos.x, pos.y);
    await page.locator(`.panel-body[data-node="${id}"]`).waitFor();
    await page.mouse.move(2, 600);
    const file = `node-${label.replace(/[^\w.]/g, "_")}.png`;
    await page.screenshot({ path: join(values.out, file) });
    console.log(`node ${label}: panel shown; saved ${file}`);
  }
  if (errors.length) throw new Error(`the page reported errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
  await server.close();
}
