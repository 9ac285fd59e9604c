/** Shared by the planner-fallback tests: what a coder request asks for, and a search whose planner only answers prose. */
import { expect } from "vitest";
import type { RecordedRequest, ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kforgeEnv, runKforge } from "./cli-process.ts";

/** The title and text of the idea a coder request asks for (the coder's user prompt shows "**TITLE**" then the idea). */
export function coderIdea(req: RecordedRequest): string {
  const user = req.messages.find((m) => m.role === "user")?.content ?? "";
  const m = /\*\*(.+?)\*\*\s*\n+([^\n]+)/.exec(user);
  return m ? `${m[1]}: ${m[2]}` : "";
}

/**
 * `kforge search` (a real child process) of 6 nodes on `problem` against the scripted server: the ideas its coder
 * was asked for (a fresh plan and an improve plan, both the fallback's when the planner answers prose) and the
 * trace's text.
 */
export async function searchOnFallback(server: ScriptedServer, problem: string, home: string): Promise<{ ideas: string[]; trace: string }> {
  const before = server.requests.length;
  const env = kforgeEnv(home, server.baseUrl);
  const r = await runKforge(["search", "--problem", problem, "--max-nodes", "6", "--branching", "3", "--budget", "3m"], env);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const runId = /^run (\S+)/m.exec(r.stdout)![1]!;
  const asked = server.requests.slice(before);
  expect(asked.filter((q) => q.role === "planner").length).toBeGreaterThanOrEqual(2); // a fresh plan and an improve plan
  const ideas = asked.filter((q) => q.role === "coder").map(coderIdea);
  expect(ideas.length).toBeGreaterThanOrEqual(6);
  const trace = await runKforge(["trace", runId], env);
  expect(trace.code, trace.stderr).toBe(0);
  return { ideas, trace: trace.stdout };
}
