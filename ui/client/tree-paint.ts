/**
 * Painting the tree onto a canvas: edges (the path to the best node in gold), status-coloured dots,
 * labels with speedups, "+N" badges and dashed rings on collapsed subtrees. Only what is on screen
 * is drawn, and text widths are cached, so 1,000+ nodes repaint within a frame.
 */
import { LABEL_SPAN, ROW_HEIGHT, type Layout, type Placed } from "./tree-layout.ts";
import { statusColor, themeColor } from "./status.ts";

/** Below this zoom labels are unreadable: draw dots only. */
const LABEL_ZOOM = 0.45;
/** A dot's radius in world units. */
export const DOT = 6;
/** The smallest radius a dot is drawn with, in screen pixels. */
const MIN_DOT_PX = 2.2;
const FONT = "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
const BOLD = `bold ${FONT}`;

/** What to draw and where: the layout, the pan/zoom (screen = world * k + t) and what to highlight. */
export interface Scene {
  layout: Layout;
  k: number;
  tx: number;
  ty: number;
  width: number;
  height: number;
  selected: string | null;
  bestId: string | null;
  bestPath: Set<string>;
}

/** A drawn "+N" badge, in canvas (CSS pixel) coordinates, for clicks. */
export interface Badge {
  id: string;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Paints scenes onto one canvas context. */
export class TreePainter {
  private textWidth = new Map<string, number>();

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  /** Clears and draws the scene; returns the badges drawn. */
  paint(s: Scene): Badge[] {
    const { ctx } = this;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, s.width, s.height);
    // The world rectangle in view, with a margin for labels and edges.
    const view = {
      x0: (-s.tx - LABEL_SPAN * s.k) / s.k,
      x1: (s.width - s.tx + 40) / s.k,
      y0: (-s.ty - ROW_HEIGHT * s.k) / s.k,
      y1: (s.height - s.ty + ROW_HEIGHT * s.k) / s.k,
    };
    ctx.setTransform(dpr * s.k, 0, 0, dpr * s.k, dpr * s.tx, dpr * s.ty);
    this.edges(s, view);
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    const badges: Badge[] = [];
    for (const p of s.layout.placed) {
      if (p.x < view.x0 || p.x > view.x1 || p.y < view.y0 || p.y > view.y1) continue;
      this.node(s, p, badges);
    }
    return badges;
  }

  private edges(s: Scene, v: { x0: number; x1: number; y0: number; y1: number }): void {
    const plain = new Path2D();
    const best = new Path2D();
    for (const p of s.layout.placed) {
      const parent = p.node.parentId !== null ? s.layout.byId.get(p.node.parentId) : undefined;
      if (!parent) continue;
      if (p.x < v.x0 || parent.x > v.x1 || Math.max(p.y, parent.y) < v.y0 || Math.min(p.y, parent.y) > v.y1) continue;
      const path = s.bestPath.has(p.node.id) ? best : plain;
      const mx = (parent.x + p.x) / 2;
      path.moveTo(parent.x + DOT, parent.y);
      path.bezierCurveTo(mx, parent.y, mx, p.y, p.x - DOT, p.y);
    }
    // Keep edges at least a pixel wide on screen when zoomed far out.
    this.ctx.lineWidth = Math.max(1.2, 0.9 / s.k);
    this.ctx.strokeStyle = themeColor("--edge");
    this.ctx.stroke(plain);
    this.ctx.lineWidth = Math.max(2.4, 1.8 / s.k);
    this.ctx.strokeStyle = themeColor("--best");
    this.ctx.stroke(best);
  }

  private node(s: Scene, p: Placed, badges: Badge[]): void {
    const { ctx } = this;
    const n = p.node;
    const color = statusColor(n.status);
    const r = Math.max(DOT, MIN_DOT_PX / s.k); // dots keep a visible size in the zoomed-out overview
    const ring = (radius: number, width: number, style: string, dash?: number) => {
      ctx.beginPath();
      ctx.arc(p.x, p.y, radius, 0, Math.PI * 2);
      if (dash) ctx.setLineDash([dash, dash]);
      ctx.lineWidth = width;
      ctx.strokeStyle = style;
      ctx.stroke();
      if (dash) ctx.setLineDash([]);
    };
    if (n.id === s.selected) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + Math.max(5, 3 / s.k), 0, Math.PI * 2);
      ctx.fillStyle = themeColor("--select-halo");
      ctx.fill();
    }
    ctx.beginPath();
    if (n.status === "root") ctx.rect(p.x - r, p.y - r, r * 2, r * 2);
    else ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
    if (n.status === "coding" || n.status === "coded") {
      ctx.lineWidth = Math.max(2, 1.2 / s.k); // in flight: a hollow ring
      ctx.strokeStyle = color;
      ctx.stroke();
    } else {
      ctx.fillStyle = color;
      ctx.fill();
    }
    // A dashed ring marks a collapsed subtree, visible even where the "+N" badge is not drawn.
    if (p.hidden > 0) ring(r + Math.max(3, 2 / s.k), Math.max(1.2, 1 / s.k), themeColor("--fg-muted"), 2 / Math.min(1, s.k));
    if (n.id === s.bestId) ring(r + Math.max(3, 2 / s.k), Math.max(2, 1.5 / s.k), themeColor("--best"));
    if (s.k < LABEL_ZOOM) {
      if (n.id === s.bestId || n.id === s.selected) this.screenLabel(s, p, r);
      return;
    }
    let x = p.x + DOT + 5;
    const speed = n.status === "ok" && n.speedup !== null ? `${n.speedup.toFixed(2)}x` : "";
    // A background behind the label hides the edges that leave this node through it.
    ctx.fillStyle = themeColor("--bg");
    ctx.fillRect(x - 2, p.y - 7, this.measure(n.label) + (speed ? this.measure(speed) + 10 : 4), 14);
    ctx.fillStyle = n.id === s.selected ? themeColor("--fg") : themeColor("--fg-muted");
    ctx.fillText(n.label, x, p.y);
    x += this.measure(n.label) + 6;
    if (speed) {
      ctx.font = BOLD;
      ctx.fillStyle = (n.speedup ?? 0) >= 1 ? color : themeColor("--fg-muted");
      ctx.fillText(speed, x, p.y);
      ctx.font = FONT;
      x += this.measure(speed) + 8;
    }
    if (p.hidden > 0) badges.push(this.badge(s, p, x, `+${p.hidden}`));
  }

  /** In the overview, the best and selected nodes keep a readable label (drawn at screen size). */
  private screenLabel(s: Scene, p: Placed, r: number): void {
    const { ctx } = this;
    const n = p.node;
    const text = `${n.label}${n.status === "ok" && n.speedup !== null ? `  ${n.speedup.toFixed(2)}x` : ""}`;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const sx = p.x * s.k + s.tx + r * s.k + 6;
    const sy = p.y * s.k + s.ty;
    ctx.font = BOLD;
    const w = ctx.measureText(text).width;
    ctx.fillStyle = themeColor("--bg");
    ctx.fillRect(sx - 3, sy - 9, w + 6, 18);
    ctx.fillStyle = n.id === s.bestId ? themeColor("--best") : themeColor("--fg");
    ctx.fillText(text, sx, sy);
    ctx.restore();
  }

  private badge(s: Scene, p: Placed, x: number, text: string): Badge {
    const { ctx } = this;
    const w = this.measure(text) + 10;
    ctx.beginPath();
    ctx.roundRect(x, p.y - 8, w, 16, 8);
    ctx.fillStyle = themeColor("--badge-bg");
    ctx.fill();
    ctx.fillStyle = themeColor("--fg");
    ctx.fillText(text, x + 5, p.y);
    return { id: p.node.id, x0: x * s.k + s.tx, x1: (x + w) * s.k + s.tx, y0: (p.y - 8) * s.k + s.ty, y1: (p.y + 8) * s.k + s.ty };
  }

  private measure(text: string): number {
    let w = this.textWidth.get(text);
    if (w === undefined) {
      w = this.ctx.measureText(text).width;
      this.textWidth.set(text, w);
    }
    return w;
  }
}
