/**
 * Positions for the visible tree, root on the left: x by depth, y by leaf order with each parent
 * centred on its children (a dendrogram). Linear in the number of visible nodes.
 */
import type { PageNode, TreeModel } from "./tree-model.ts";

/** Horizontal distance between depths, in world units (CSS pixels at zoom 1). */
export const COLUMN_WIDTH = 120;
/** Vertical distance between leaves. */
export const ROW_HEIGHT = 24;

/** One placed node. */
export interface Placed {
  node: PageNode;
  x: number;
  y: number;
  /** Descendants hidden under it because it is collapsed (0 when open or a leaf). */
  hidden: number;
}

/** The layout: placed nodes in drawing order, an index by id, and the world bounds. */
export interface Layout {
  placed: Placed[];
  byId: Map<string, Placed>;
  width: number;
  height: number;
}

/** Lays out the visible part of `model`. */
export function layoutTree(model: TreeModel): Layout {
  const placed: Placed[] = [];
  const byId = new Map<string, Placed>();
  let row = 0;
  let maxDepth = 0;
  // Post-order walk without recursion (a 1,000-deep chain must not overflow the stack).
  const stack: { node: PageNode; depth: number; next: number }[] = model.roots
    .map((id) => ({ node: model.nodes.get(id)!, depth: 0, next: 0 }))
    .reverse();
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const open = !model.collapsed.has(top.node.id);
    const kids = open ? top.node.children : [];
    if (top.next < kids.length) {
      stack.push({ node: model.nodes.get(kids[top.next++]!)!, depth: top.depth + 1, next: 0 });
      continue;
    }
    stack.pop();
    let y: number;
    if (kids.length === 0) y = row++ * ROW_HEIGHT;
    else y = (byId.get(kids[0]!)!.y + byId.get(kids[kids.length - 1]!)!.y) / 2;
    const p: Placed = { node: top.node, x: top.depth * COLUMN_WIDTH, y, hidden: open ? 0 : model.descendants(top.node.id) };
    placed.push(p);
    byId.set(top.node.id, p);
    maxDepth = Math.max(maxDepth, top.depth);
  }
  return { placed, byId, width: maxDepth * COLUMN_WIDTH, height: Math.max(0, row - 1) * ROW_HEIGHT };
}

/** How far right of a node's dot its clickable label reaches, in world units. */
export const LABEL_SPAN = COLUMN_WIDTH - 24;

/** The placed node whose dot or label contains world point (x, y), or undefined. */
export function hitTest(layout: Layout, x: number, y: number): Placed | undefined {
  for (const p of layout.placed) {
    if (x >= p.x - 10 && x <= p.x + LABEL_SPAN && Math.abs(y - p.y) <= ROW_HEIGHT / 2) return p;
  }
  return undefined;
}
