/**
 * The search tree's view: a canvas with its own pan (drag) and zoom (wheel, buttons), clicks on nodes
 * and on "+N" badges, hover for tooltips. Painting itself is tree-paint.ts.
 */
import { hitTest, LABEL_SPAN, type Layout, type Placed } from "./tree-layout.ts";
import { TreePainter, type Badge } from "./tree-paint.ts";

const MIN_ZOOM = 0.06;
const MAX_ZOOM = 3;
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
  private badges: Badge[] = [];
  private frame = 0;
  private drag: { x: number; y: number; tx: number; ty: number; moved: boolean } | null = null;
  private readonly painter: TreePainter;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly handlers: TreeViewHandlers,
  ) {
    this.painter = new TreePainter(canvas.getContext("2d")!);
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
    const { width, height } = this.viewSize();
    this.badges = this.painter.paint({
      layout: this.layout,
      k: this.k,
      tx: this.tx,
      ty: this.ty,
      width,
      height,
      selected: this.selected,
      bestId: this.bestId,
      bestPath: this.bestPath,
    });
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
