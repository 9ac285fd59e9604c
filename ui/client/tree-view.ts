/**
 * The search tree on a canvas: edges, status-coloured dots, labels with speedups, "+N" badges on
 * collapsed subtrees; drag to pan, wheel to zoom. Draws only what is on screen, so 1,000+ nodes stay smooth.
 */
import { hitTest, LABEL_SPAN, ROW_HEIGHT, type Layout, type Placed } from "./tree-layout.ts";
import { statusColor, themeColor } from "./status.ts";

const MIN_ZOOM = 0.06;
const MAX_ZOOM = 3;
/** Below this zoom labels are unreadable: draw dots only. */
const LABEL_ZOOM = 0.45;
const DOT = 6;
/** The smallest radius a dot is drawn with, in screen pixels. */
const MIN_DOT_PX = 2.2;
/** Space kept free above and below the tree when fitting (toolbar, legend). */
const FIT_MARGIN_Y = 60;

/** What the view reports back to the page. */
export interface TreeViewHandlers {
  onSelect(id: string): void;
  onToggle(id: string): void;
  onHover(p: Placed | null, clientX: number, clientY: number): void;
}

/** A canvas view of a laid-out tree with its own pan and zoom. */
export class TreeView {
  private layout: Layout = { placed: [], byId: new Map(), width: 0, height: 0 };
  private k = 1;
  private tx = 40;
  private ty = 40;
  private selected: string | null = null;
  private bestPath = new Set<string>();
  private bestId: string | null = null;
  private badges: { id: string; x0: number; x1: number; y0: number; y1: number }[] = [];
  private textWidth = new Map<string, number>();
  private frame = 0;
  private drag: { x: number; y: number; tx: number; ty: number; moved: boolean } | null = null;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly handlers: TreeViewHandlers) {
    this.ctx = canvas.getContext("2d")!;
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("pointerdown", (e) => this.onDown(e));
    canvas.addEventListener("pointermove", (e) => this.onMove(e));
    canvas.addEventListener("pointerup", (e) => this.onUp(e));
    canvas.addEventListener("pointerleave", () => handlers.onHover(null, 0, 0));
    canvas.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    canvas.addEventListener("dblclick", (e) => {
      const p = this.pick(e);
      if (p?.node.children.length) handlers.onToggle(p.node.id);
    });
    this.resize();
  }

  /** Replaces what is drawn; keeps the current pan and zoom. */
  setData(layout: Layout, selected: string | null, bestPath: string[]): void {
    this.layout = layout;
    this.selected = selected;
    this.bestPath = new Set(bestPath);
    this.bestId = bestPath[bestPath.length - 1] ?? null;
    this.draw();
  }

  /** Zooms so the whole tree fits (never above 1:1). */
  fit(): void {
    const { width, height } = this.viewSize();
    // Leave room for the toolbar above and the legend below.
    const free = { w: width - 60, h: height - 2 * FIT_MARGIN_Y };
    const k = Math.min(1, free.w / Math.max(1, this.layout.width + LABEL_SPAN), free.h / Math.max(1, this.layout.height));
    this.k = Math.max(MIN_ZOOM, k);
    this.tx = Math.max(30, (width - (this.layout.width + LABEL_SPAN) * this.k) / 2);
    this.ty = FIT_MARGIN_Y + Math.max(0, (free.h - this.layout.height * this.k) / 2);
    this.draw();
  }

  /** Pans so node `id` sits in view (keeping the zoom, raised to readable if needed). */
  focus(id: string): void {
    const p = this.layout.byId.get(id);
    if (!p) return;
    const { width, height } = this.viewSize();
    this.k = Math.max(this.k, 0.8);
    this.tx = width * 0.35 - p.x * this.k;
    this.ty = height / 2 - p.y * this.k;
    this.draw();
  }

  /** Where node `id` is on screen, in client coordinates (for tests and keyboard focus). */
  screenPosition(id: string): { x: number; y: number } | null {
    const p = this.layout.byId.get(id);
    if (!p) return null;
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + p.x * this.k + this.tx, y: r.top + p.y * this.k + this.ty };
  }

  /** Where the "+N" badge of collapsed node `id` is on screen, or null when it has none in view. */
  badgePosition(id: string): { x: number; y: number } | null {
    const b = this.badges.find((x) => x.id === id);
    if (!b) return null;
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + (b.x0 + b.x1) / 2, y: r.top + (b.y0 + b.y1) / 2 };
  }

  /** Schedules a redraw on the next animation frame. */
  draw(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paint());
  }

  /** Draws now (the page calls this once to time the first render). */
  paint(): void {
    this.frame = 0;
    const { ctx, k, tx, ty } = this;
    const dpr = window.devicePixelRatio || 1;
    const { width, height } = this.viewSize();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    // The world rectangle in view, with a margin for labels and edges.
    const x0 = (-tx - LABEL_SPAN * k) / k;
    const x1 = (width - tx + 40) / k;
    const y0 = (-ty - ROW_HEIGHT * k) / k;
    const y1 = (height - ty + ROW_HEIGHT * k) / k;
    const inView = (p: Placed) => p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1;
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * tx, dpr * ty);
    this.drawEdges(x0, x1, y0, y1);
    const labels = k >= LABEL_ZOOM;
    this.badges = [];
    ctx.font = "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    ctx.textBaseline = "middle";
    for (const p of this.layout.placed) {
      if (!inView(p)) continue;
      this.drawNode(p, labels);
    }
  }

  private drawEdges(x0: number, x1: number, y0: number, y1: number): void {
    const { ctx } = this;
    const plain = new Path2D();
    const best = new Path2D();
    for (const p of this.layout.placed) {
      const parent = p.node.parentId !== null ? this.layout.byId.get(p.node.parentId) : undefined;
      if (!parent) continue;
      if (p.x < x0 || parent.x > x1 || Math.max(p.y, parent.y) < y0 || Math.min(p.y, parent.y) > y1) continue;
      const path = this.bestPath.has(p.node.id) ? best : plain;
      const mx = (parent.x + p.x) / 2;
      path.moveTo(parent.x + DOT, parent.y);
      path.bezierCurveTo(mx, parent.y, mx, p.y, p.x - DOT, p.y);
    }
    // Keep edges at least a pixel wide on screen when zoomed far out.
    ctx.lineWidth = Math.max(1.2, 0.9 / this.k);
    ctx.strokeStyle = themeColor("--edge");
    ctx.stroke(plain);
    ctx.lineWidth = Math.max(2.4, 1.8 / this.k);
    ctx.strokeStyle = themeColor("--best");
    ctx.stroke(best);
  }

  private drawNode(p: Placed, labels: boolean): void {
    const { ctx } = this;
    const n = p.node;
    const color = statusColor(n.status);
    // Dots keep a visible size on screen in the zoomed-out overview.
    const r = Math.max(DOT, MIN_DOT_PX / this.k);
    if (n.id === this.selected) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + Math.max(5, 3 / this.k), 0, Math.PI * 2);
      ctx.fillStyle = themeColor("--select-halo");
      ctx.fill();
    }
    ctx.beginPath();
    if (n.status === "root") ctx.rect(p.x - r, p.y - r, r * 2, r * 2);
    else ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
    if (n.status === "coding" || n.status === "coded") {
      ctx.lineWidth = Math.max(2, 1.2 / this.k);
      ctx.strokeStyle = color;
      ctx.stroke();
    } else {
      ctx.fillStyle = color;
      ctx.fill();
    }
    if (p.hidden > 0) {
      // A dashed ring marks a collapsed subtree, visible even where the "+N" badge is not drawn.
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + Math.max(3, 2 / this.k), 0, Math.PI * 2);
      ctx.setLineDash([2 / Math.min(1, this.k), 2 / Math.min(1, this.k)]);
      ctx.lineWidth = Math.max(1.2, 1 / this.k);
      ctx.strokeStyle = themeColor("--fg-muted");
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (n.id === this.bestId) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r + Math.max(3, 2 / this.k), 0, Math.PI * 2);
      ctx.lineWidth = Math.max(2, 1.5 / this.k);
      ctx.strokeStyle = themeColor("--best");
      ctx.stroke();
    }
    if (!labels && (n.id === this.bestId || n.id === this.selected)) this.drawScreenLabel(p, r);
    if (!labels) return;
    let x = p.x + DOT + 5;
    const speed = n.status === "ok" && n.speedup !== null ? `${n.speedup.toFixed(2)}x` : "";
    // A background behind the label hides the edges that leave this node through it.
    ctx.fillStyle = themeColor("--bg");
    ctx.fillRect(x - 2, p.y - 7, this.measure(n.label) + (speed ? this.measure(speed) + 10 : 4), 14);
    ctx.fillStyle = n.id === this.selected ? themeColor("--fg") : themeColor("--fg-muted");
    ctx.fillText(n.label, x, p.y);
    x += this.measure(n.label) + 6;
    if (speed) {
      const s = speed;
      ctx.font = "bold 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
      ctx.fillStyle = (n.speedup ?? 0) >= 1 ? color : themeColor("--fg-muted");
      ctx.fillText(s, x, p.y);
      ctx.font = "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
      x += this.measure(s) + 8;
    }
    if (p.hidden > 0) this.drawBadge(p, x, `+${p.hidden}`);
  }

  /** In the overview, the best and selected nodes keep a readable label (drawn at screen size). */
  private drawScreenLabel(p: Placed, r: number): void {
    const { ctx, k, tx, ty } = this;
    const n = p.node;
    const text = `${n.label}${n.status === "ok" && n.speedup !== null ? `  ${n.speedup.toFixed(2)}x` : ""}`;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const sx = p.x * k + tx + r * k + 6;
    const sy = p.y * k + ty;
    ctx.font = "bold 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    const w = ctx.measureText(text).width;
    ctx.fillStyle = themeColor("--bg");
    ctx.fillRect(sx - 3, sy - 9, w + 6, 18);
    ctx.fillStyle = n.id === this.bestId ? themeColor("--best") : themeColor("--fg");
    ctx.fillText(text, sx, sy);
    ctx.restore();
  }

  private drawBadge(p: Placed, x: number, text: string): void {
    const { ctx, k, tx, ty } = this;
    const w = this.measure(text) + 10;
    ctx.beginPath();
    ctx.roundRect(x, p.y - 8, w, 16, 8);
    ctx.fillStyle = themeColor("--badge-bg");
    ctx.fill();
    ctx.fillStyle = themeColor("--fg");
    ctx.fillText(text, x + 5, p.y);
    this.badges.push({ id: p.node.id, x0: x * k + tx, x1: (x + w) * k + tx, y0: (p.y - 8) * k + ty, y1: (p.y + 8) * k + ty });
  }

  private measure(text: string): number {
    let w = this.textWidth.get(text);
    if (w === undefined) {
      w = this.ctx.measureText(text).width;
      this.textWidth.set(text, w);
    }
    return w;
  }

  private viewSize(): { width: number; height: number } {
    return { width: this.canvas.clientWidth, height: this.canvas.clientHeight };
  }

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.canvas.clientWidth * dpr);
    this.canvas.height = Math.round(this.canvas.clientHeight * dpr);
    this.paint();
  }

  private local(e: MouseEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private pick(e: MouseEvent): Placed | undefined {
    const { x, y } = this.local(e);
    return hitTest(this.layout, (x - this.tx) / this.k, (y - this.ty) / this.k);
  }

  private onDown(e: PointerEvent): void {
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty, moved: false };
  }

  private onMove(e: PointerEvent): void {
    if (this.drag) {
      const dx = e.clientX - this.drag.x;
      const dy = e.clientY - this.drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) this.drag.moved = true;
      if (this.drag.moved) {
        this.tx = this.drag.tx + dx;
        this.ty = this.drag.ty + dy;
        this.draw();
        return;
      }
    }
    const p = this.pick(e);
    const { x, y } = this.local(e);
    const onBadge = this.badges.some((b) => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1);
    this.canvas.style.cursor = p || onBadge ? "pointer" : this.drag ? "grabbing" : "grab";
    this.handlers.onHover(p ?? null, e.clientX, e.clientY);
  }

  private onUp(e: PointerEvent): void {
    const drag = this.drag;
    this.drag = null;
    if (!drag || drag.moved) return;
    const { x, y } = this.local(e);
    const badge = this.badges.find((b) => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1);
    if (badge) return this.handlers.onToggle(badge.id);
    const p = this.pick(e);
    if (p) this.handlers.onSelect(p.node.id);
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const { x, y } = this.local(e);
    const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.k * factor));
    this.tx = x - ((x - this.tx) / this.k) * k;
    this.ty = y - ((y - this.ty) / this.k) * k;
    this.k = k;
    this.draw();
  }

  /** Zooms by `factor` around the view's centre (toolbar buttons). */
  zoomBy(factor: number): void {
    const { width, height } = this.viewSize();
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.k * factor));
    this.tx = width / 2 - ((width / 2 - this.tx) / this.k) * k;
    this.ty = height / 2 - ((height / 2 - this.ty) / this.k) * k;
    this.k = k;
    this.draw();
  }
}
