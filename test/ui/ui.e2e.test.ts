/**
 * End to end in headless Chromium: `kforge ui`'s server over a recorded run, the page driven with real
 * mouse clicks. Screenshots go to test-results/screenshots/ (CI keeps them as artifacts).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUiServer, type UiServer } from "../../ui/server.ts";
import { appendIteration } from "../fixtures/trace-fixture.ts";
import { kforge as runKforge, recordedDb } from "../trace/helpers.ts";
import { formatRunTime, runTime } from "../../memory/run-time.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { CHROMIUM, hasChromium, launchChromium } from "./chromium.ts";

const SHOTS = join(process.cwd(), "test-results", "screenshots");

// A missing browser fails the suite (once, saying what to install) rather than skipping it silently.
it("has Debian's Chromium to drive", () => {
  expect(hasChromium(), `${CHROMIUM} not found: install it with apt-get install -y chromium (.ci/run does)`).toBe(true);
});

/** `kforge ARGS` over the database at `dbPath` (KFORGE_DB), its stdout (failing the test on a non-zero exit). */
async function kforge(args: string[], dbPath: string): Promise<string> {
  const before = process.env["KFORGE_DB"];
  process.env["KFORGE_DB"] = dbPath;
  try {
    const r = await runKforge(args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  } finally {
    if (before === undefined) delete process.env["KFORGE_DB"];
    else process.env["KFORGE_DB"] = before;
  }
}

/** Ends a run the way a search does when its budget is spent. */
function finishRun(dbPath: string, runId: string): void {
  const db = openDatabase(dbPath);
  try {
    new TraceStore(db).setup().setRunStatus(runId, "done", { stopReason: "budget:wall" });
  } finally {
    db.close();
  }
}

type Hooks = {
  __kforge: {
    view: {
      screenPosition(id: string): { x: number; y: number } | null;
      badgePosition(id: string): { x: number; y: number } | null;
      focus(id: string): void;
    };
    state: { layout: { placed: { node: { id: string }; hidden: number }[] }; model: { nodes: Map<string, { children: string[] }> } };
  };
};

describe.runIf(hasChromium())("trace explorer in Chromium", () => {
  let fx: ReturnType<typeof recordedDb>;
  let server: UiServer;
  let browser: { context: BrowserContext; close(): Promise<void> };
  let page: Page;
  const outside: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    fx = recordedDb({ large: true, running: true });
    server = await startUiServer({ dbPath: fx.dbPath, port: 0, pollMs: 200 });
    browser = await launchChromium({ viewport: { width: 1600, height: 1000 }, colorScheme: "dark" });
    page = await browser.context.newPage();
    page.on("request", (r) => void (r.url().startsWith(server.url) || r.url().startsWith("data:") || outside.push(r.url())));
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fx?.cleanup();
  });

  /** Clicks node `label` of the open run where the canvas draws it. */
  async function clickNode(label: string, opts: { double?: boolean } = {}): Promise<void> {
    const id = `${fx.run.runId}.${label}`;
    const pos = await page.evaluate((nid) => (window as unknown as Hooks).__kforge.view.screenPosition(nid), id);
    expect(pos, `node ${label} is drawn`).not.toBeNull();
    // The label right of the dot is part of the node's hit area; click on the dot itself.
    await page.mouse.click(pos!.x, pos!.y, opts.double ? { clickCount: 2 } : {});
  }

  const treeCount = () => page.locator("#tree-count").textContent();

  it("opens the recorded run: tree drawn, run stats, legend, chart", async () => {
    await page.goto(`${server.url}#/run/${fx.run.runId}`);
    await page.waitForFunction(() => (window as unknown as { __kforgeRendered?: number }).__kforgeRendered !== undefined);
    expect(await treeCount()).toBe("29 of 29 nodes shown");
    await expect.poll(() => page.locator("#run-title").textContent()).toContain("live");
    expect(await page.locator("#run-stats").textContent()).toContain("1.83x");
    const legend = await page.locator("#legend").textContent();
    for (const s of [
      "correct 12",
      "compile error 3",
      "wrong output 3",
      "runtime error 2",
      "timeout 2",
      "rejected 2",
      "no kernel 1",
      "model failed 1",
      "verifying 1",
      "coding 1",
    ])
      expect(legend).toContain(s);
    await expect.poll(() => page.locator("#chart .best-point").count()).toBe(7);
    expect(await page.locator("#run-list li").count()).toBe(2);
    expect(await page.locator("[data-section=run-outcome]").textContent()).toContain("5.1 · 1.83x");
    expect(await page.locator("[data-section=run-settings]").textContent()).toContain('"branching": 4');
    await page.screenshot({ path: join(SHOTS, "01-run-tree.png") });
  });

  it("collapses a subtree with a double click and expands it again from its +N badge", async () => {
    await clickNode("2.2", { double: true });
    await expect.poll(treeCount).toBe("25 of 29 nodes shown");
    const badge = await page.evaluate((id) => (window as unknown as Hooks).__kforge.view.badgePosition(id), `${fx.run.runId}.2.2`);
    expect(badge).not.toBeNull();
    await page.mouse.click(badge!.x, badge!.y);
    await expect.poll(treeCount).toBe("29 of 29 nodes shown");
  });

  it("opens a node: plan, highlighted kernel, diff against the parent, verifier table, reasoning", async () => {
    await clickNode("5.1");
    const panel = page.locator(`.panel-body[data-node="${fx.run.runId}.5.1"]`);
    await panel.waitFor();
    expect(page.url()).toContain(`#/run/${fx.run.runId}/node/5.1`);
    expect(await panel.locator(".panel-head").textContent()).toMatch(/5\.1\s*correct\s*1\.83x\s*309 TFLOP\/s/);
    expect(await panel.locator("[data-section=plan]").textContent()).toContain("Combine the bigger tile with exp2 softmax");
    const kernel = panel.locator("[data-section=kernel]");
    expect(await kernel.locator("code").textContent()).toContain("@triton.jit");
    expect(await kernel.locator("code .hljs-keyword").count()).toBeGreaterThan(10);
    await kernel.locator("[data-tab=diff]").click();
    expect(await kernel.locator("[data-tab=diff]").textContent()).toBe("Diff vs 4.2 · +2 −2");
    expect(await kernel.locator(".diff-line.add").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("num_warps=8")]));
    expect(await kernel.locator(".diff-line.del").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("num_warps=4")]));
    const verifier = panel.locator("[data-section=verifier]");
    expect(await verifier.locator("table.checks tbody tr").count()).toBe(10);
    expect(await verifier.locator("table.timings tbody tr").first().textContent()).toMatch(/4×16×4096×128\s*1\.553\s*354\s*2\.557\s*1\.65x/);
    const reasoning = panel.locator("[data-role=coder] details.reasoning");
    expect(await reasoning.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await reasoning.locator("summary").click();
    await expect.poll(() => reasoning.locator("pre").isVisible()).toBe(true);
    expect(await reasoning.locator("pre").textContent()).toContain("the masking must happen after the softcap");
    expect(await panel.locator("[data-section=profile]").textContent()).toContain("latency-bound");
    expect(await panel.locator("[data-section=critique]").textContent()).toContain("promising");
    await page.mouse.move(2, 600); // no tooltip over the tree in the screenshots
    await page.locator("#panel").evaluate((el) => (el.scrollTop = 0));
    await page.screenshot({ path: join(SHOTS, "02-node-panel.png") });
    await kernel.evaluate((el) => el.scrollIntoView({ block: "start" }));
    await page.screenshot({ path: join(SHOTS, "03-node-diff-reasoning.png") });
  });

  it("shows why a node failed, in the light theme too", async () => {
    await page.locator("#theme").click();
    await clickNode("2.2");
    const panel = page.locator(`.panel-body[data-node="${fx.run.runId}.2.2"]`);
    await panel.waitFor();
    const verifier = panel.locator("[data-section=verifier]");
    expect(await verifier.locator(".verdict").textContent()).toContain("max error 0.41 > allowance 0.0094");
    expect(await verifier.locator("table.checks .fail").count()).toBe(2);
    expect(await panel.locator("[data-section=critique] .pill").textContent()).toBe("repairable");
    // A compile error: the verdict line names the cause, not the location line Triton's message starts with.
    await clickNode("1.2");
    const compile = page.locator(`.panel-body[data-node="${fx.run.runId}.1.2"]`);
    await compile.waitFor();
    expect(await compile.locator("[data-section=verifier] .verdict").textContent()).toMatch(
      /^AssertionError\('First input shape .*\.\.\.$|\(CompilationError at 31:12\)$/,
    );
    expect(await compile.locator("[data-section=verifier] pre.message").textContent()).toContain("at 31:12:");
    await page.mouse.move(2, 600);
    await page.screenshot({ path: join(SHOTS, "04-failed-node-light.png") });
    await page.locator("#theme").click();
  });

  it("follows a run in progress: new nodes and a new best appear without reloading", async () => {
    appendIteration(fx.dbPath, fx.run.runId, 8, "7.3", [
      { title: "live: 2 CTAs per SM", idea: "Smaller tiles, two CTAs per SM.", knobs: { blockM: 64 }, outcome: { ok: 1.92 } },
      { title: "live: broken", idea: "Drop the bounds mask.", knobs: {}, outcome: "wrong_output" },
    ]);
    await expect.poll(treeCount, { timeout: 10_000 }).toBe("31 of 31 nodes shown");
    await expect.poll(() => page.locator("#run-stats").textContent()).toContain("1.92x");
    await expect.poll(() => page.locator("#chart .best-point").count()).toBe(8);
    expect(await page.evaluate((id) => (window as unknown as Hooks).__kforge.view.screenPosition(id) !== null, `${fx.run.runId}.8.1`)).toBe(true);
  });

  it("opens a 1,000-node run collapsed around its best paths and expands a subtree", async () => {
    await page.locator(`#run-list li[data-run="${fx.large!.runId}"] a`).click();
    await expect.poll(treeCount).toMatch(/^\d+ of 1,000 nodes shown$/);
    const shown = Number((await treeCount())!.split(" ")[0]);
    expect(shown).toBeLessThan(400);
    // Zoom to a collapsed node so its badge is drawn, then click the badge like a user.
    const target = await page.evaluate(() => {
      const k = (window as unknown as Hooks).__kforge;
      const p = k.state.layout.placed.filter((x) => x.hidden > 0).sort((a, b) => b.hidden - a.hidden)[0]!;
      k.view.focus(p.node.id);
      return { id: p.node.id, children: k.state.model.nodes.get(p.node.id)!.children.length };
    });
    await page.waitForTimeout(100);
    const badge = await page.evaluate((id) => (window as unknown as Hooks).__kforge.view.badgePosition(id), target.id);
    expect(badge).not.toBeNull();
    await page.mouse.click(badge!.x, badge!.y);
    // Its children show (themselves collapsed when they have children of their own).
    await expect.poll(treeCount).toBe(`${shown + target.children} of 1,000 nodes shown`);
    await page.locator("#fit").click();
    await page.screenshot({ path: join(SHOTS, "05-large-run.png") });
  });

  it("at 1400x900 the legend and the footer do not overlap, and the run time reads the same in the header, the panel and `kforge runs`", async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`${server.url}#/run/${fx.run.runId}`);
    await page.waitForFunction(() => (window as unknown as { __kforgeRendered?: number }).__kforgeRendered !== undefined);
    const box = async (sel: string) => (await page.locator(sel).boundingBox())!;
    const legend = await box("#legend");
    const foot = await box(".tree-foot");
    const overlap = Math.min(legend.y + legend.height, foot.y + foot.height) - Math.max(legend.y, foot.y);
    expect(overlap, `legend ${JSON.stringify(legend)} vs footer ${JSON.stringify(foot)}`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, "06-legend-footer-1400x900.png") });
    // The run is over (status done), so its time no longer ticks: every place shows the same text.
    finishRun(fx.dbPath, fx.run.runId);
    await expect.poll(() => page.locator("#run-title").textContent(), { timeout: 10_000 }).toContain("done");
    const header = (await page.locator("#run-stats .stat", { hasText: "time" }).locator(".stat-value").textContent())!;
    const panel = (await page.locator("[data-section=run-outcome] tr", { hasText: "run time" }).locator("td").textContent())!;
    const runs = await kforge(["runs", "--json"], fx.dbPath);
    const cli = formatRunTime(runTime(JSON.parse(runs).find((r: { id: string }) => r.id === fx.run.runId)).ms);
    const table = await kforge(["runs"], fx.dbPath);
    expect(header).toMatch(/^\d+(m\d\ds|s)$/);
    expect(panel).toBe(header);
    expect(cli).toBe(header);
    expect(table.split("\n").find((l) => l.startsWith(fx.run.runId))).toContain(` ${header} `);
    await page.setViewportSize({ width: 1600, height: 1000 });
  });

  it("loaded nothing from outside and logged no errors", () => {
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });
});
