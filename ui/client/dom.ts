/** A tiny element builder: text always goes in as text (never parsed as HTML), so recorded model output is safe to show. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

/** Creates `<tag attrs>children</tag>`; `on*` attributes become listeners, `class` sets className. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** Appends children, skipping empty ones. */
export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** "1,234". */
export function num(n: number): string {
  return n.toLocaleString("en-US");
}

/** "+3m05s" style elapsed time. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A titled panel card; `extra` goes on the right of the title. */
export function card(section: string, title: string, body: Node | null, extra?: Node | string): HTMLElement {
  return h("section", { class: "card", "data-section": section }, h("h3", {}, title, extra ? h("span", { class: "card-extra" }, extra) : null), body);
}
