/**
 * Inline reasoning: servers without a reasoning parser send R1's thoughts inside the content as
 * `<think>...</think>`. These helpers split them out, whole or while streaming.
 */

const OPEN = "<think>";
const CLOSE = "</think>";

/** Content with every think block removed, and the reasoning text they held. */
export interface ThinkSplit {
  content: string;
  reasoning: string;
}

/**
 * Splits inline think blocks out of a full reply. Handles several blocks, an unclosed block
 * (reply truncated mid-thought: the rest is reasoning) and a lone `</think>` (R1's chat template
 * pre-fills `<think>` in the prompt, so the reply starts inside the block).
 */
export function splitThink(text: string): ThinkSplit {
  const lower = text.toLowerCase();
  const firstOpen = lower.indexOf(OPEN);
  const firstClose = lower.indexOf(CLOSE);
  const reasoning: string[] = [];
  const content: string[] = [];
  let pos = 0;
  if (firstClose !== -1 && (firstOpen === -1 || firstClose < firstOpen)) {
    reasoning.push(text.slice(0, firstClose));
    pos = firstClose + CLOSE.length;
  }
  while (pos < text.length) {
    const open = lower.indexOf(OPEN, pos);
    if (open === -1) {
      content.push(text.slice(pos));
      break;
    }
    content.push(text.slice(pos, open));
    const close = lower.indexOf(CLOSE, open + OPEN.length);
    if (close === -1) {
      reasoning.push(text.slice(open + OPEN.length));
      break;
    }
    reasoning.push(text.slice(open + OPEN.length, close));
    pos = close + CLOSE.length;
  }
  return {
    content: content.join("").trim(),
    reasoning: reasoning
      .map((r) => r.trim())
      .filter(Boolean)
      .join("\n\n"),
  };
}

/** Streaming version for onDelta: routes deltas inside think tags to reasoning, tags split across chunks included. */
export class ThinkStream {
  private inside = false;
  private held = "";

  /** Feeds one content delta; returns the parts that are safe to emit now. */
  push(delta: string): ThinkSplit {
    let text = this.held + delta;
    this.held = "";
    const out: ThinkSplit = { content: "", reasoning: "" };
    for (;;) {
      const tag = this.inside ? CLOSE : OPEN;
      const at = text.toLowerCase().indexOf(tag);
      if (at === -1) {
        // Hold back a suffix that could be the start of a tag cut by the chunk boundary.
        const keep = partialTagSuffix(text, tag);
        this.emit(out, text.slice(0, text.length - keep));
        this.held = text.slice(text.length - keep);
        return out;
      }
      this.emit(out, text.slice(0, at));
      text = text.slice(at + tag.length);
      this.inside = !this.inside;
    }
  }

  /** Flushes whatever was held back at the end of the stream. */
  end(): ThinkSplit {
    const out: ThinkSplit = { content: "", reasoning: "" };
    this.emit(out, this.held);
    this.held = "";
    return out;
  }

  private emit(out: ThinkSplit, text: string): void {
    if (this.inside) out.reasoning += text;
    else out.content += text;
  }
}

function partialTagSuffix(text: string, tag: string): number {
  const lower = text.toLowerCase();
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (tag.startsWith(lower.slice(text.length - n))) return n;
  }
  return 0;
}
