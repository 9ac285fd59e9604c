/** The best-speedup-over-time chart: inline SVG, every correct node as a dot, the running best as a step line. */
import type { BestPoint } from "../trace-view.ts";
import { elapsed } from "./dom.ts";

const NS = "http://www.w3.org/2000/svg";
const PAD = { left: 44, right: 16, top: 12, bottom: 24 };

/** One correct node on the chart. */
export interface ChartDot {
  id: string;
  label: string;
  elapsedMs: number;
  speedup: number;
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.append(e);
  return e;
}

/** Round tick values covering [0, max] (about `count` of them). */
function ticks(max: number, count: number, steps: number[]): number[] {
  const step = steps.find((s) => max / s <= count) ?? steps[steps.length - 1]!;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

const TIME_STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200].map((s) => s * 1000);
const SPEED_STEPS = [0.1, 0.25, 0.5, 1, 2, 5];

/** Draws the chart into `svg`, sized to the element; a click on a dot selects its node. */
export function renderChart(
  svg: SVGSVGElement,
  dots: ChartDot[],
  best: BestPoint[],
  nowMs: number,
  labelOf: (id: string) => string,
  onSelect: (id: string) => void,
): void {
  svg.replaceChildren();
  const width = svg.clientWidth || 600;
  const height = svg.clientHeight || 150;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  if (!dots.length) {
    el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "chart-empty" }, svg).textContent = "No correct kernel yet";
    return;
  }
  const tMax = Math.max(nowMs, ...dots.map((d) => d.elapsedMs), 1000);
  const sMax = Math.max(1.2, ...dots.map((d) => d.speedup)) * 1.08;
  const x = (t: number) => PAD.left + (t / tMax) * (width - PAD.left - PAD.right);
  const y = (s: number) => height - PAD.bottom - (s / sMax) * (height - PAD.top - PAD.bottom);
  const axes = el("g", { class: "axes" }, svg);
  for (const s of ticks(sMax, 4, SPEED_STEPS)) {
    el("line", { x1: PAD.left, x2: width - PAD.right, y1: y(s), y2: y(s), class: "grid" }, axes);
    el("text", { x: PAD.left - 6, y: y(s) + 4, "text-anchor": "end" }, axes).textContent = `${s}x`;
  }
  for (const t of ticks(tMax, Math.max(2, Math.floor(width / 110)), TIME_STEPS)) {
    el("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, axes).textContent = tickLabel(t);
  }
  el("line", { x1: PAD.left, x2: width - PAD.right, y1: y(1), y2: y(1), class: "baseline" }, svg);
  el("text", { x: width - PAD.right, y: y(1) - 4, "text-anchor": "end", class: "baseline-label" }, svg).textContent = "baseline";
  const scatter = el("g", { class: "dots" }, svg);
  for (const d of dots) {
    const c = el("circle", { cx: x(d.elapsedMs), cy: y(d.speedup), r: 2.6, class: "dot", "data-node": d.id }, scatter);
    el("title", {}, c).textContent = `${d.label}: ${d.speedup.toFixed(2)}x at ${elapsed(d.elapsedMs)}`;
    c.addEventListener("click", () => onSelect(d.id));
  }
  if (best.length) {
    let path = `M ${x(best[0]!.elapsedMs)} ${y(best[0]!.speedup)}`;
    for (let i = 1; i < best.length; i++) path += ` H ${x(best[i]!.elapsedMs)} V ${y(best[i]!.speedup)}`;
    path += ` H ${x(tMax)}`;
    el("path", { d: path, class: "best-line" }, svg);
    const marks = el("g", { class: "best-points" }, svg);
    for (const b of best) {
      const c = el("circle", { cx: x(b.elapsedMs), cy: y(b.speedup), r: 4, class: "best-point", "data-node": b.nodeId }, marks);
      el("title", {}, c).textContent = `new best ${labelOf(b.nodeId)}: ${b.speedup.toFixed(2)}x at ${elapsed(b.elapsedMs)}`;
      c.addEventListener("click", () => onSelect(b.nodeId));
    }
    const last = best[best.length - 1]!;
    el("text", { x: Math.min(x(last.elapsedMs) + 6, width - PAD.right - 40), y: y(last.speedup) - 7, class: "best-label" }, svg).textContent =
      `${last.speedup.toFixed(2)}x`;
  }
}

/** "0", "30s", "1m30s", "10m", "1h", "1h30m": tick values are multiples of the step, so exact. */
export function tickLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s === 0) return "0";
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  return m % 60 ? `${Math.floor(m / 60)}h${m % 60}m` : `${m / 60}h`;
}
