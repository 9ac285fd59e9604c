/**
 * The explorer's API paths, parsed and checked before anything reads the database: a malformed run id,
 * node id, cursor or percent-encoding is the client's mistake (400 with what to fix), not a 404 or a 500.
 */

/** A request the server refuses as malformed (answered 400 with this message). */
export class BadRequest extends Error {}

/** What an API path asks for. */
export type ApiRoute =
  | { kind: "health" }
  | { kind: "runs" }
  | { kind: "run"; runId: string }
  | { kind: "tree"; runId: string; since: number }
  | { kind: "best"; runId: string }
  | { kind: "node"; runId: string; node: string }
  | { kind: "live"; runId: string; since: number }
  | { kind: "unknown"; path: string };

/** Run ids are made by kforge ("20261123-221500-ab12"); a unique prefix also names a run elsewhere, not here. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A node label ("3.2", "root") or a full node id ("<run>.3.2"). */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** The largest cursor accepted: change counters stay far below it. */
const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

/** Parses `/api/...` into a route; throws BadRequest for malformed parts. */
export function parseApiPath(url: URL): ApiRoute {
  const parts = url.pathname.split("/").slice(2).map(decodePart); // ["runs", id, ...]
  const [root, runId, what, node, ...extra] = parts;
  if (root === "health" && parts.length === 1) return { kind: "health" };
  if (root !== "runs" || extra.length) return { kind: "unknown", path: url.pathname };
  if (runId === undefined) return { kind: "runs" };
  if (!RUN_ID.test(runId))
    throw new BadRequest(
      `malformed run id ${JSON.stringify(runId.slice(0, 80))}: expected letters, digits, '.', '_' or '-' (e.g. 20261123-221500-ab12)`,
    );
  if (what === undefined) return { kind: "run", runId };
  if (what === "nodes") {
    if (node === undefined) return { kind: "unknown", path: url.pathname };
    if (!NODE_ID.test(node))
      throw new BadRequest(`malformed node id ${JSON.stringify(node.slice(0, 80))}: expected a label such as 3.2 or root, or a full node id`);
    return { kind: "node", runId, node };
  }
  if (node !== undefined) return { kind: "unknown", path: url.pathname };
  if (what === "tree" || what === "live") return { kind: what, runId, since: cursorOf(url) };
  if (what === "best") return { kind: "best", runId };
  return { kind: "unknown", path: url.pathname };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadRequest(`malformed percent-encoding in ${JSON.stringify(part.slice(0, 80))}`);
  }
}

/** `?since=N`: a whole number of changes already seen (0 or absent: everything). */
function cursorOf(url: URL): number {
  const raw = url.searchParams.get("since");
  if (raw === null || raw === "") return 0;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_CURSOR)
    throw new BadRequest(`malformed since=${JSON.stringify(raw.slice(0, 40))}: expected a whole number (the cursor of the last batch)`);
  return n;
}
