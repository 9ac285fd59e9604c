/**
 * The trace explorer page: run list, the search tree (canvas), best-over-time chart and the node panel,
 * kept live from the server's event stream. State lives in the URL hash: #/run/ID/node/LABEL.
 */
import type { BestPoint, NodePanelData, RunRow, TreeBatch } from "../trace-view.ts";
import { renderChart } from "./best-chart.ts";
import { append, h, num } from "./dom.ts";
import { renderPanel } from "./node-panel.ts";
import { renderRunPanel } from "./run-panel.ts";
import { legendItems, runHeader, runListItems, runSpan } from "./run-header.ts";
import { resetThemeColors, statusLabel } from "./status.ts";
import { layoutTree, type Layout } from "./tree-layout.ts";
import { TreeModel } from "./tree-model.ts";
import { TreeView } from "./tree-view.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface State {
  runs: RunRow[];
  run: RunRow | null;
  model: TreeModel;
  layout: Layout | null;
  selected: string | null;
  best: BestPoint[];
  live: EventSource | null;
  panelFor: string | null;
}

const state: State = { runs: [], run: null, model: new TreeModel(), layout: null, selected: null, best: [], live: null, panelFor: null };

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.json().catch(() => ({}))).error ?? res.statusText}`);
  return (await res.json()) as T;
}

const view = new TreeView($<HTMLCanvasElement>("tree"), {
  onSelect: (id) => void select(id),
  onToggle: (id) => {
    state.model.toggle(id);
    relayout();
  },
  onHover: (p, x, y) => {
    const tip = $("tooltip");
    if (!p) {
      tip.hidden = true;
      return;
    }
    const n = p.node;
    tip.replaceChildren();
    append(tip, [
      h(
        "div",
        { class: "row" },
        h("b", {}, n.label),
        h("span", { class: `pill st-${n.status}` }, statusLabel(n.status)),
        n.speedup !== null && n.status === "ok" ? h("b", {}, `${n.speedup.toFixed(2)}x`) : null,
      ),
      h("div", {}, n.title),
      n.summary && n.status !== "ok" ? h("div", { class: "muted" }, n.summary) : null,
      p.hidden ? h("div", { class: "muted" }, `${p.hidden} nodes collapsed — click the badge or double-click to expand`) : null,
    ]);
    tip.hidden = false;
    const r = $("tree-wrap").getBoundingClientRect();
    tip.style.left = `${Math.min(x - r.left + 14, r.width - 320)}px`;
    tip.style.top = `${y - r.top + 14}px`;
  },
});

function relayout(): void {
  state.layout = layoutTree(state.model);
  const best = state.model.best();
  view.setData(state.layout, state.selected, best ? state.model.pathTo(best.id) : []);
  $("tree-count").textContent = `${num(state.layout.placed.length)} of ${num(state.model.nodes.size)} nodes shown`;
}

function renderRuns(): void {
  $("run-list").replaceChildren(...runListItems(state.runs, state.run?.id ?? null));
}

function renderRunHeader(): void {
  if (!state.run) return;
  const r = state.run;
  const bestLabel = r.bestNode ? (state.model.nodes.get(r.bestNode)?.label ?? r.bestNode) : null;
  const { title, stats } = runHeader(r, bestLabel, (id) => void select(id));
  $("run-title").replaceChildren(...title);
  $("run-stats").replaceChildren(...stats);
}

function renderBestChart(): void {
  const r = state.run;
  if (!r) return;
  const dots = [...state.model.nodes.values()]
    .filter((n) => n.status === "ok" && n.speedup !== null)
    .map((n) => ({ id: n.id, label: n.label, elapsedMs: n.elapsedMs, speedup: n.speedup! }));
  const now = runSpan(r).ms;
  renderChart(
    $("chart") as unknown as SVGSVGElement,
    dots,
    state.best,
    now,
    (id) => state.model.nodes.get(id)?.label ?? id,
    (id) => void select(id),
  );
}

function renderLegend(): void {
  $("legend").replaceChildren(...legendItems(state.model.nodes.values()));
}

/** Opens a run: its whole tree, then live updates from the cursor on. */
async function openRun(runId: string, nodeLabel: string | null, expandAll: boolean): Promise<void> {
  state.live?.close();
  state.live = null;
  state.model = new TreeModel();
  state.selected = null;
  state.panelFor = null;
  $("empty").hidden = true;
  const batch = await getJson<TreeBatch>(`/api/runs/${encodeURIComponent(runId)}/tree`);
  performance.mark("kforge:tree-fetched");
  state.run = batch.run;
  state.model.upsert(batch.nodes);
  showRunPanel();
  const target = nodeLabel ? findByLabel(nodeLabel) : null;
  if (expandAll) state.model.expandAll();
  else state.model.autoCollapse(target ? [target] : []);
  performance.mark("kforge:tree-modelled");
  state.selected = target;
  renderRuns();
  renderRunHeader();
  renderLegend();
  performance.mark("kforge:chrome-drawn");
  relayout();
  performance.mark("kforge:tree-laid-out");
  view.fit();
  view.paint();
  performance.mark("kforge:tree-drawn");
  (window as unknown as { __kforgeRendered: number }).__kforgeRendered = performance.now();
  if (target) await select(target);
  state.best = await getJson<BestPoint[]>(`/api/runs/${encodeURIComponent(runId)}/best`);
  renderBestChart();
  listen(runId, batch.cursor);
}

function listen(runId: string, cursor: number): void {
  const es = new EventSource(`/api/runs/${encodeURIComponent(runId)}/live?since=${cursor}`);
  state.live = es;
  // A refused stream (503: too many open pages) closes for good; say so instead of looking live.
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED && state.live === es)
      $("live-note").textContent = "live updates off: the server refused the stream (too many open pages?); reload to retry";
  });
  es.addEventListener("tree", (e) => {
    if (state.run?.id !== runId) return;
    const batch = JSON.parse((e as MessageEvent<string>).data) as TreeBatch;
    const bestBefore = state.run.bestSpeedup;
    state.run = batch.run;
    state.runs = state.runs.map((r) => (r.id === runId ? batch.run : r));
    if (batch.nodes.length) {
      state.model.upsert(batch.nodes);
      relayout();
      renderLegend();
      if (state.selected && batch.nodes.some((n) => n[0] === state.selected)) void showPanel(state.selected, true);
    }
    renderRuns();
    renderRunHeader();
    showRunPanel();
    if (batch.run.bestSpeedup !== bestBefore)
      void getJson<BestPoint[]>(`/api/runs/${encodeURIComponent(runId)}/best`).then((b) => {
        state.best = b;
        renderBestChart();
      });
    else renderBestChart();
    $("live-note").textContent = `updated ${new Date().toLocaleTimeString()}`;
  });
}

/** The run's own card in the side panel, until a node is chosen. */
function showRunPanel(): void {
  const r = state.run;
  if (!r || state.selected) return;
  $("panel").replaceChildren(renderRunPanel(r, r.bestNode ? (state.model.nodes.get(r.bestNode)?.label ?? null) : null, (id) => void select(id)));
}

function findByLabel(label: string): string | null {
  if (state.model.nodes.has(label)) return label;
  for (const n of state.model.nodes.values()) if (n.label === label) return n.id;
  return null;
}

/** Selects a node: reveals it in the tree, opens the panel, records it in the URL. */
async function select(id: string): Promise<void> {
  if (!state.model.nodes.has(id) || !state.run) return;
  state.selected = id;
  if (!state.model.isVisible(id)) state.model.reveal(id);
  relayout();
  if (!isOnScreen(id)) view.focus(id);
  const label = state.model.nodes.get(id)!.label;
  history.replaceState(null, "", `#/run/${encodeURIComponent(state.run.id)}/node/${encodeURIComponent(label)}`);
  await showPanel(id, false);
}

function isOnScreen(id: string): boolean {
  const p = view.screenPosition(id);
  const r = $("tree").getBoundingClientRect();
  return !!p && p.x > r.left + 10 && p.x < r.right - 60 && p.y > r.top + 10 && p.y < r.bottom - 10;
}

async function showPanel(id: string, keepScroll: boolean): Promise<void> {
  const run = state.run!;
  const data = await getJson<NodePanelData>(`/api/runs/${encodeURIComponent(run.id)}/nodes/${encodeURIComponent(id)}`);
  if (state.selected !== id) return;
  const panel = $("panel");
  const scroll = keepScroll && state.panelFor === id ? panel.scrollTop : 0;
  const openDetails = keepScroll ? Array.from(panel.querySelectorAll("details[open]")).map((d) => d.className) : [];
  panel.replaceChildren(
    renderPanel(
      data,
      run.startedAt,
      (nid) => state.model.nodes.get(nid)?.label ?? nid,
      (nid) => void select(nid),
    ),
  );
  for (const d of Array.from(panel.querySelectorAll("details"))) if (openDetails.includes(d.className)) d.open = true;
  panel.scrollTop = scroll;
  state.panelFor = id;
}

/** Follows the URL hash: #/run/ID[/node/LABEL][?expand=all]. */
async function route(): Promise<void> {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const m = /^\/run\/([^/]+)(?:\/node\/([^/]+))?/.exec(path ?? "");
  const runId = m ? decodeURIComponent(m[1]!) : state.runs[0]?.id;
  const nodeLabel = m?.[2] ? decodeURIComponent(m[2]) : null;
  if (!runId) {
    $("empty").hidden = false;
    $("empty").textContent = "No runs in this database yet. Start one with: kforge search --problem softcap";
    return;
  }
  if (runId === state.run?.id) {
    if (nodeLabel) {
      const id = findByLabel(nodeLabel);
      if (id && id !== state.selected) await select(id);
    }
    return;
  }
  await openRun(runId, nodeLabel, new URLSearchParams(query ?? "").get("expand") === "all");
}

function setTheme(theme: "dark" | "light"): void {
  document.documentElement.dataset["theme"] = theme;
  localStorage.setItem("kforge-theme", theme);
  resetThemeColors();
  view.draw();
  renderBestChart();
  renderLegend();
}

function navigate(dir: "up" | "down" | "left" | "right"): void {
  const n = state.selected ? state.model.nodes.get(state.selected) : undefined;
  if (!n) return;
  const siblings = n.parentId !== null ? state.model.nodes.get(n.parentId)!.children : state.model.roots;
  const i = siblings.indexOf(n.id);
  const next = dir === "left" ? n.parentId : dir === "right" ? n.children[0] : siblings[dir === "up" ? i - 1 : i + 1];
  if (next) {
    if (dir === "right" && state.model.collapsed.has(n.id)) state.model.toggle(n.id);
    void select(next);
  }
}

async function main(): Promise<void> {
  const saved = localStorage.getItem("kforge-theme");
  setTheme(saved === "light" || saved === "dark" ? saved : matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
  $("theme").addEventListener("click", () => setTheme(document.documentElement.dataset["theme"] === "dark" ? "light" : "dark"));
  $("fit").addEventListener("click", () => view.fit());
  $("zoom-in").addEventListener("click", () => view.zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => view.zoomBy(0.8));
  $("go-best").addEventListener("click", () => {
    const b = state.model.best();
    if (b) void select(b.id).then(() => view.focus(b.id));
  });
  $("expand-all").addEventListener("click", () => {
    state.model.expandAll();
    relayout();
  });
  $("collapse").addEventListener("click", () => {
    state.model.autoCollapse(state.selected ? [state.selected] : []);
    relayout();
    view.fit();
  });
  $("find").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const input = e.target as HTMLInputElement;
    const id = findByLabel(input.value.trim());
    input.classList.toggle("bad", !id);
    if (id) void select(id).then(() => view.focus(id));
  });
  document.addEventListener("keydown", (e) => {
    if ((e.target as HTMLElement).closest("input, textarea")) return;
    const dir = ({ ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" } as const)[e.key as "ArrowUp"];
    if (dir) {
      e.preventDefault();
      navigate(dir);
    }
  });
  new ResizeObserver(() => renderBestChart()).observe($("chart"));
  addEventListener("hashchange", () => void route());
  const runs = getJson<RunRow[]>("/api/runs").then((r) => {
    state.runs = r;
    renderRuns();
  });
  // With a run in the URL, fetch its tree alongside the run list: one round trip less before drawing.
  if (location.hash.startsWith("#/run/")) await Promise.all([runs, route()]);
  else await runs.then(route);
  setInterval(renderRunHeader, 1000);
}

// Hooks for the end-to-end test and the benchmark: where nodes are drawn, so they click like a user would.
Object.assign(window, { __kforge: { view, state, select } });

main().catch((err) => {
  $("empty").hidden = false;
  $("empty").textContent = `Could not load: ${err instanceof Error ? err.message : String(err)}`;
});
