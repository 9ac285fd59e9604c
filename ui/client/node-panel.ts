/** The side panel: everything recorded about one node, outcome first, long texts collapsible. */
import type { LlmCallDetail, NodeDetail, NodePanelData } from "../trace-view.ts";
import { pythonBlock, diffBlock } from "./code-block.ts";
import { card, elapsed, h, num } from "./dom.ts";
import { statusLabel } from "./status.ts";
import { critiqueSection, profileSection, verifierSection } from "./result-sections.ts";

/** Builds the panel for `data`; `labelOf` names other nodes, `onGo` selects one (parent, child links). */
export function renderPanel(data: NodePanelData, runStartedAt: number, labelOf: (id: string) => string, onGo: (id: string) => void): HTMLElement {
  const d = data.detail;
  const n = d.node;
  const link = (id: string, text: string) =>
    h(
      "a",
      {
        href: "#",
        class: "node-link",
        onclick: (e: Event) => {
          e.preventDefault();
          onGo(id);
        },
      },
      text,
    );
  const metrics = [
    n.status === "ok" && n.speedup !== null ? h("span", { class: "metric big" }, `${n.speedup.toFixed(2)}x`) : null,
    n.tflops !== null ? h("span", { class: "metric" }, `${n.tflops.toFixed(0)} TFLOP/s`) : null,
    h("span", { class: "metric muted" }, `+${elapsed(n.createdAt - runStartedAt)}`),
    h("span", { class: "metric muted" }, `depth ${n.depth}`),
    h("span", { class: "metric muted" }, n.origin),
  ];
  const header = h(
    "header",
    { class: "panel-head" },
    h(
      "div",
      { class: "row" },
      h("span", { class: "node-id" }, n.label),
      h("span", { class: `pill st-${n.status}` }, statusLabel(n.status)),
      ...metrics,
    ),
    h("h2", {}, n.title || "(untitled)"),
    n.summary && n.status !== "ok" ? h("p", { class: "summary" }, n.summary) : null,
    h(
      "div",
      { class: "row small muted" },
      "parent ",
      n.parentId ? link(n.parentId, data.parentLabel ?? n.parentId) : "—",
      d.children.length ? " · children " : "",
      ...d.children.flatMap((c, i) => [i ? ", " : "", link(c, labelOf(c))]),
    ),
  );
  return h(
    "div",
    { class: "panel-body", "data-node": n.id },
    header,
    ideaSection(d),
    seedSection(d),
    verifierSection(d),
    kernelSection(data),
    callsSection(d.llmCalls),
    profileSection(d),
    critiqueSection(d),
    d.events.length
      ? card("events", "Events", h("ul", { class: "events" }, ...d.events.map((e) => h("li", {}, h("b", {}, e.kind), " ", e.message))))
      : null,
  );
}

/** The memory-of-wins entries that seeded this node (`kforge memory show ID` prints one in full). */
function seedSection(d: NodeDetail): HTMLElement | null {
  if (!d.seeds.length) return null;
  return card(
    "seeds",
    "Seeded from memory",
    h(
      "ul",
      { class: "seeds" },
      ...d.seeds.map((s) =>
        h(
          "li",
          {},
          h("b", {}, `#${s.winId}`),
          s.score !== null ? h("span", { class: "muted" }, ` relevance ${s.score.toFixed(2)}`) : null,
          ` — ${s.note}`,
        ),
      ),
    ),
  );
}

function ideaSection(d: NodeDetail): HTMLElement {
  const plan = d.plan as { rationale?: unknown; ideas?: { title?: unknown; idea?: unknown }[] } | null;
  const ideas = plan && Array.isArray(plan.ideas) ? plan.ideas : [];
  const childPlan = d.childPlan as { ideas?: { title?: unknown; idea?: unknown }[] } | null;
  const childIdeas = childPlan && Array.isArray(childPlan.ideas) ? childPlan.ideas : [];
  return card(
    "plan",
    "Idea & plan",
    h(
      "div",
      {},
      h("p", { class: "idea" }, d.idea || d.node.title || "(none recorded)"),
      plan && typeof plan.rationale === "string" ? h("p", { class: "muted" }, h("b", {}, "Plan rationale: "), plan.rationale) : null,
      ideas.length > 1
        ? h(
            "details",
            {},
            h("summary", {}, `The plan's ${ideas.length} ideas`),
            h(
              "ol",
              { class: "ideas" },
              ...ideas.map((i) =>
                h("li", { class: i.title === d.node.title ? "this" : "" }, h("b", {}, String(i.title ?? "")), i.idea ? ` — ${String(i.idea)}` : ""),
              ),
            ),
          )
        : null,
      childIdeas.length
        ? h(
            "details",
            { class: "child-plan" },
            h("summary", {}, `Expanded into ${childIdeas.length} ideas`),
            h(
              "ol",
              { class: "ideas" },
              ...childIdeas.map((i) => h("li", {}, h("b", {}, String(i.title ?? "")), i.idea ? ` — ${String(i.idea)}` : "")),
            ),
          )
        : null,
    ),
  );
}

function kernelSection(data: NodePanelData): HTMLElement {
  const kernel = data.detail.kernel;
  if (!kernel) return card("kernel", "Kernel", h("p", { class: "muted" }, "No kernel for this node."));
  const source = pythonBlock(kernel);
  const diff = data.diff !== null ? (data.diff ? diffBlock(data.diff) : h("p", { class: "muted" }, "Identical to the parent's kernel.")) : null;
  const stat = data.diff ? diffStat(data.diff) : null;
  const body = h("div", { class: "tab-body" }, source);
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const tab = (name: string, label: string, content: HTMLElement) => {
    const b = h("button", { class: "tab", role: "tab", "data-tab": name }, label);
    b.addEventListener("click", () => {
      tabs.querySelectorAll(".tab").forEach((t) => {
        t.classList.toggle("active", t === b);
      });
      body.replaceChildren(content);
    });
    tabs.append(b);
    return b;
  };
  tab("source", `Source · ${num(kernel.split("\n").length)} lines`, source).classList.add("active");
  if (diff) tab("diff", `Diff vs ${data.parentLabel ?? "parent"}${stat ? ` · +${stat.added} −${stat.removed}` : ""}`, diff);
  const copy = h("button", { class: "ghost small", title: "copy the kernel" }, "Copy");
  copy.addEventListener("click", () => void navigator.clipboard?.writeText(kernel).then(() => (copy.textContent = "Copied")));
  return card("kernel", "Kernel", h("div", {}, tabs, body), copy);
}

function diffStat(diff: string): { added: number; removed: number } {
  const lines = diff.split("\n");
  return {
    added: lines.filter((l) => l.startsWith("+") && !l.startsWith("+++")).length,
    removed: lines.filter((l) => l.startsWith("-") && !l.startsWith("---")).length,
  };
}

function callsSection(calls: LlmCallDetail[]): HTMLElement {
  if (!calls.length)
    return card("calls", "Model calls", h("p", { class: "muted" }, "No model call recorded for this node (offline policy or root)."));
  return card(
    "calls",
    "Model calls",
    h(
      "div",
      {},
      ...calls.map((c) =>
        h(
          "div",
          { class: "call", "data-role": c.role },
          h(
            "div",
            { class: "row small" },
            h("span", { class: "role" }, c.role),
            h("span", { class: "muted" }, c.model),
            h("span", { class: "muted" }, `${num(c.promptTokens)} → ${num(c.completionTokens)} tok`),
            h("span", { class: "muted" }, `${(c.latencyMs / 1000).toFixed(1)} s`),
            c.costUsd ? h("span", { class: "muted" }, `$${c.costUsd.toFixed(4)}`) : null,
            c.attempts > 1 ? h("span", { class: "warn" }, `${c.attempts} attempts`) : null,
            c.error ? h("span", { class: "err" }, c.error) : null,
          ),
          textDetails("prompt", "Prompt", c.prompt),
          textDetails("reasoning", "Reasoning", c.reasoning),
          textDetails("response", "Response", c.response),
        ),
      ),
    ),
  );
}

function textDetails(kind: string, title: string, text: string | null): HTMLElement | null {
  if (!text) return null;
  return h(
    "details",
    { class: `text ${kind}` },
    h("summary", {}, title, h("span", { class: "muted" }, ` · ${num(text.length)} chars`)),
    h("pre", { class: "wrap" }, text),
  );
}
