/**
 * The tree as the page holds it: nodes by id, children in creation order, and which subtrees are
 * collapsed. Pure (no DOM), so the layout and collapse rules are unit-tested in Node.
 */
import type { CompactNode, NodeStatus } from "../trace-view.ts";

/** One node on the page. */
export interface PageNode {
  id: string;
  parentId: string | null;
  label: string;
  status: NodeStatus;
  speedup: number | null;
  title: string;
  elapsedMs: number;
  summary: string;
  depth: number;
  children: string[];
}

/** Above this many nodes, the tree opens with uninteresting subtrees collapsed. */
export const AUTO_COLLAPSE_AT = 300;
/** How many of the fastest nodes may keep their ancestor paths open when auto-collapsing. */
export const KEEP_OPEN_BEST = 12;
/** Auto-collapsing stops opening paths once about this many nodes would show. */
export const VISIBLE_BUDGET = 250;

/** Nodes, their children and the collapsed set. */
export class TreeModel {
  readonly nodes = new Map<string, PageNode>();
  readonly roots: string[] = [];
  readonly collapsed = new Set<string>();

  /** Adds new nodes and updates changed ones; returns the ids that were new. */
  upsert(batch: CompactNode[]): string[] {
    const added: string[] = [];
    for (const [id, parentId, label, status, speedup, title, elapsedMs, summary] of batch) {
      const old = this.nodes.get(id);
      if (old) {
        Object.assign(old, { status, speedup, title, summary, label });
        continue;
      }
      this.nodes.set(id, { id, parentId, label, status, speedup, title, elapsedMs, summary, depth: 0, children: [] });
      added.push(id);
    }
    // Link after inserting the whole batch: a child may arrive before its parent in one batch.
    for (const id of added) {
      const n = this.nodes.get(id)!;
      const parent = n.parentId !== null ? this.nodes.get(n.parentId) : undefined;
      if (parent) parent.children.push(id);
      else this.roots.push(id);
    }
    this.fixOrphans();
    this.computeDepths();
    return added;
  }

  /** The fastest correct node, or undefined. */
  best(): PageNode | undefined {
    let best: PageNode | undefined;
    for (const n of this.nodes.values()) if (n.status === "ok" && n.speedup !== null && (!best || n.speedup > best.speedup!)) best = n;
    return best;
  }

  /** The ids from the root down to `id` (inclusive). */
  pathTo(id: string): string[] {
    const path: string[] = [];
    for (let n = this.nodes.get(id); n; n = n.parentId !== null ? this.nodes.get(n.parentId) : undefined) path.push(n.id);
    return path.reverse();
  }

  /** Number of descendants of `id`. */
  descendants(id: string): number {
    let count = 0;
    const stack = [...(this.nodes.get(id)?.children ?? [])];
    while (stack.length) {
      const n = this.nodes.get(stack.pop()!)!;
      count++;
      stack.push(...n.children);
    }
    return count;
  }

  /** Whether `id` is drawn: no collapsed ancestor. */
  isVisible(id: string): boolean {
    for (let n = this.nodes.get(id); n && n.parentId !== null; ) {
      if (this.collapsed.has(n.parentId)) return false;
      n = this.nodes.get(n.parentId);
    }
    return true;
  }

  toggle(id: string): void {
    if (this.collapsed.has(id)) this.collapsed.delete(id);
    else if (this.nodes.get(id)?.children.length) this.collapsed.add(id);
  }

  /** Opens every ancestor of `id` so that it is drawn. */
  reveal(id: string): void {
    for (const a of this.pathTo(id).slice(0, -1)) this.collapsed.delete(a);
  }

  expandAll(): void {
    this.collapsed.clear();
  }

  /**
   * For big trees: collapse every subtree except the paths to the fastest nodes (and to `keep`),
   * opening paths best-first until about VISIBLE_BUDGET nodes show, so the first view shows where
   * the search went well rather than 1,000 dots.
   */
  autoCollapse(keep: string[] = []): void {
    this.collapsed.clear();
    if (this.nodes.size <= AUTO_COLLAPSE_AT) return;
    const fastest = [...this.nodes.values()]
      .filter((n) => n.status === "ok" && n.speedup !== null)
      .sort((a, b) => b.speedup! - a.speedup!)
      .slice(0, KEEP_OPEN_BEST);
    const open = new Set<string>(this.roots);
    // The open set is closed under ancestors, so what shows is the roots plus the children of open nodes.
    let visible = this.roots.length + this.roots.reduce((s, id) => s + this.nodes.get(id)!.children.length, 0);
    const targets = [...keep, ...fastest.map((n) => n.id)];
    targets.forEach((id, i) => {
      const path = this.pathTo(id)
        .slice(0, -1)
        .filter((a) => !open.has(a));
      const extra = path.reduce((s, a) => s + this.nodes.get(a)!.children.length, 0);
      if (i > keep.length && visible + extra > VISIBLE_BUDGET) return; // keep the best path whatever it costs
      for (const a of path) open.add(a);
      visible += extra;
    });
    for (const n of this.nodes.values()) if (n.children.length && !open.has(n.id)) this.collapsed.add(n.id);
  }

  /** Visible nodes in depth-first order (children in creation order). */
  visibleOrder(): PageNode[] {
    const out: PageNode[] = [];
    const stack = [...this.roots].reverse();
    while (stack.length) {
      const n = this.nodes.get(stack.pop()!)!;
      out.push(n);
      if (!this.collapsed.has(n.id)) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
    return out;
  }

  /** A parent that arrived after its children: move those children from the roots under it. */
  private fixOrphans(): void {
    for (let i = this.roots.length - 1; i >= 0; i--) {
      const n = this.nodes.get(this.roots[i]!)!;
      const parent = n.parentId !== null ? this.nodes.get(n.parentId) : undefined;
      if (parent) {
        this.roots.splice(i, 1);
        if (!parent.children.includes(n.id)) parent.children.push(n.id);
      }
    }
  }

  private computeDepths(): void {
    const stack: [string, number][] = this.roots.map((id) => [id, 0]);
    while (stack.length) {
      const [id, depth] = stack.pop()!;
      const n = this.nodes.get(id)!;
      n.depth = depth;
      for (const c of n.children) stack.push([c, depth + 1]);
    }
  }
}
