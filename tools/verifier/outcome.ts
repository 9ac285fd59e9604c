/** Turns what happened to a harness process into a `VerifyResult`; only our own faults become exceptions. */
import { ProblemError, ToolError } from "../../core/errors.ts";
import type { JobOutcome } from "./client.ts";
import { VerifyResult } from "./result.ts";
import { HARNESS_LOG_CHARS, HARNESS_LOG_QUOTE_CHARS } from "../../core/limits.ts";

type TimeoutPhase = Extract<VerifyResult, { status: "timeout" }>["phase"];
const PHASES: readonly string[] = ["start", "import", "compile", "correctness", "timing"];

/** An AbortError, as fetch and timers throw when their signal fires. */
export function abortError(): Error {
  const e = new Error("verification aborted");
  e.name = "AbortError";
  return e;
}

/** Throws the ProblemError a harness reports when the problem itself is broken (its reference does not import,
 * its variant file fails): the user's to fix, never a candidate's failure. */
export function throwIfProblemError(result: unknown): void {
  const r = result as { status?: unknown; message?: unknown; file?: unknown; line?: unknown } | null;
  if (r?.status !== "problem_error") return;
  throw new ProblemError(String(r.message ?? "the problem is broken"), {
    hint: "fix the problem's reference.py or variant file at the place named, then run again",
    context: { ...(typeof r.file === "string" ? { file: r.file } : {}), ...(typeof r.line === "number" ? { line: r.line } : {}) },
  });
}

/** The VerifyResult of one verify job; `startMs` is the wait for a warm process, `totalMs` the whole call. */
export function toVerifyResult(o: JobOutcome, timing: { startMs: number; totalMs: number }, gpu?: string): VerifyResult {
  const log = "log" in o && o.log.trim() ? { log: o.log.slice(-HARNESS_LOG_CHARS) } : {};
  const common = { ...(gpu ? { gpu } : {}), ...log };
  switch (o.kind) {
    case "result": {
      throwIfProblemError(o.result);
      const parsed = VerifyResult.safeParse(o.result);
      if (!parsed.success) {
        throw new ToolError(
          `the verifier harness sent a malformed result: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
          {
            context: { tool: "verifier", result: o.result },
          },
        );
      }
      const r = parsed.data;
      return { ...r, ...log, phases: { ...r.phases, startMs: timing.startMs, totalMs: timing.totalMs } };
    }
    case "timeout":
      return {
        status: "timeout",
        phase: (PHASES.includes(o.phase) ? o.phase : "total") as TimeoutPhase,
        limitS: o.limitS,
        phases: { startMs: timing.startMs, totalMs: timing.totalMs },
        ...common,
      };
    case "died": {
      const how = o.signal ? `process died with signal ${o.signal}` : `process exited with code ${o.code}`;
      return {
        status: "runtime_error",
        message: `the kernel's process ended without a result during ${o.phase} (${how})${o.log.trim() ? `\n${o.log.slice(-HARNESS_LOG_QUOTE_CHARS)}` : ""}`,
        kind: how,
        phases: { startMs: timing.startMs, totalMs: timing.totalMs },
        ...common,
      };
    }
    case "harness_error":
      throw new ToolError(`the verifier harness failed: ${o.message.slice(0, 2000)}`, { context: { tool: "verifier", log: o.log } });
    case "aborted":
      throw abortError();
  }
}
