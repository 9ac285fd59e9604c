/**
 * What the scripted OpenAI-compatible server answers: reply descriptions, and scripts (a queue, a
 * function, or routes by role / system prompt) that pick a reply for each recorded request.
 */

/** One scripted answer to a chat-completions request. Everything is optional: `{}` is an empty "stop". */
export interface ScriptedReply {
  /** Answer text. */
  content?: string;
  /** Standalone scripts only: read the content from this file (relative to the script file). */
  contentFile?: string;
  reasoning?: string;
  /** How reasoning travels: DeepSeek's field (default), vLLM/OpenRouter's field, or inline tags. */
  reasoningAs?: "reasoning_content" | "reasoning" | "think";
  /** Answer with this HTTP error status instead (429, 500, 401, ...). */
  status?: number;
  /** Retry-After header value, in seconds, with `status`. */
  retryAfter?: number;
  errorMessage?: string;
  /** true (default): usage estimated from text; false: none sent; an object: sent as given. */
  usage?: boolean | { prompt_tokens: number; completion_tokens: number; reasoning_tokens?: number; cached_tokens?: number };
  /** Default "stop"; null omits finish_reason (a stream that just ends). */
  finishReason?: string | null;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Wait between SSE chunks. */
  chunkDelayMs?: number;
  /** Characters of text per SSE chunk (default 24). */
  chunkChars?: number;
  /** Destroy the connection after this many SSE chunks (a dropped stream). */
  truncateAfterChunks?: number;
  /** Send a chunk that is not JSON after this many SSE chunks. */
  malformedAfterChunks?: number;
  /** Send `data: {"error": ...}` after this many SSE chunks (an error reported mid-stream). */
  errorAfterChunks?: number;
  /** Answer with one JSON body even when a stream was asked for. */
  ignoreStream?: boolean;
  /** Destroy the connection without any response. */
  dropConnection?: boolean;
}

/** A request as the server saw it, kept for assertions. */
export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  model: string | undefined;
  stream: boolean;
  includeUsage: boolean;
  messages: { role: string; content: string }[];
  /** The first system message ("" when none). */
  system: string;
  /** The last user message ("" when none). */
  lastUser: string;
  /** The x-kforge-role header the model client sends (planner/coder/critic/profiler). */
  role: string | undefined;
  authorization: string | undefined;
  maxTokens: number | undefined;
  body: Record<string, unknown>;
}

/** Which requests a route takes: all given fields must match; strings match as substrings, /.../ as regexes. */
export interface RouteMatch {
  role?: string;
  system?: string;
  user?: string;
  model?: string;
}

/** A queue of replies for matching requests; when it runs out, `repeat` says what follows. */
export interface ScriptRoute {
  match: RouteMatch | ((req: RecordedRequest) => boolean);
  replies: ScriptedReply[];
  /** "none" (default): later requests fall through; "last": repeat the last; "cycle": start over. */
  repeat?: "none" | "last" | "cycle";
}

export type ScriptHandler = (req: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>;

/** A whole script: a plain queue, a function, or routes with a fallback. */
export type Script = ScriptedReply[] | ScriptHandler | { routes: ScriptRoute[]; fallback?: ScriptedReply };

function matches(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (value === undefined) return false;
  const re = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  return re ? new RegExp(re[1]!, re[2]).test(value) : value.includes(pattern);
}

function routeMatches(route: ScriptRoute, req: RecordedRequest): boolean {
  if (typeof route.match === "function") return route.match(req);
  const m = route.match;
  return matches(m.role, req.role) && matches(m.system, req.system) && matches(m.user, req.lastUser) && matches(m.model, req.model);
}

/** Picks replies for requests, consuming queues as it goes. */
export class ScriptRunner {
  private routes: { route: ScriptRoute; next: number }[] = [];
  private handler: ScriptHandler | undefined;
  private fallback: ScriptedReply | undefined;

  constructor(script: Script) {
    this.set(script);
  }

  /** Replaces the script (queues restart). */
  set(script: Script): void {
    this.handler = typeof script === "function" ? script : undefined;
    const routes = Array.isArray(script) ? [{ match: {}, replies: script }] : typeof script === "function" ? [] : script.routes;
    this.routes = routes.map((route) => ({ route, next: 0 }));
    this.fallback = !Array.isArray(script) && typeof script === "object" ? script.fallback : undefined;
  }

  /** Appends replies to the catch-all queue (created if the script has none). */
  push(...replies: ScriptedReply[]): void {
    let open = this.routes.find((r) => typeof r.route.match === "object" && Object.keys(r.route.match).length === 0);
    if (!open) {
      open = { route: { match: {}, replies: [] }, next: 0 };
      this.routes.push(open);
    }
    open.route.replies.push(...replies);
  }

  /** The reply for a request, or undefined when the script has nothing left for it. */
  async pick(req: RecordedRequest): Promise<ScriptedReply | undefined> {
    if (this.handler) return this.handler(req);
    for (const r of this.routes) {
      if (!routeMatches(r.route, req)) continue;
      const { replies, repeat = "none" } = r.route;
      if (r.next < replies.length) return replies[r.next++];
      if (replies.length > 0 && repeat === "last") return replies[replies.length - 1];
      if (replies.length > 0 && repeat === "cycle") return replies[r.next++ % replies.length];
    }
    return this.fallback;
  }

  /** Replies still queued, over all routes. */
  remaining(): number {
    return this.routes.reduce((n, r) => n + Math.max(0, r.route.replies.length - r.next), 0);
  }
}
