/**
 * Shared by the tests of what `search` and `resume` refuse before a run exists (python-missing, offline-triton,
 * no-gpu): a scripted model, fresh homes with no GPU visible, runs read back from the real SQLite file.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { createRun, newRunId } from "../../graph/run.ts";
import { DEFAULT_SEARCH_OPTIONS } from "../../graph/deps.ts";
import { startScriptedServer, type ScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "./script.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { kforgeEnv } from "./cli-process.ts";

/** A scripted model answering with cpu_tiny's correct kernel, and a temp dir; `close()` ends both. */
export async function refusalSetup(): Promise<{
  server: ScriptedServer;
  tmp: string;
  envWith(extra?: NodeJS.ProcessEnv): { home: string; env: NodeJS.ProcessEnv };
  close(): Promise<void>;
}> {
  const server = await startScriptedServer(kernelModel({ fates: ["good"], kernel: cpuKernel, sequential: true }));
  const tmp = mkdtempSync(join(tmpdir(), "kforge-refusals-"));
  let homes = 0;
  return {
    server,
    tmp,
    // A fresh KFORGE_HOME with the scripted model, and no GPU visible to the verifier's Python (even on a GPU host).
    envWith(extra = {}) {
      const home = join(tmp, `home-${++homes}`);
      mkdirSync(home);
      return { home, env: { ...kforgeEnv(home, server.baseUrl), CUDA_VISIBLE_DEVICES: "", ...extra } };
    },
    async close() {
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The runs recorded in a home (none when the database was never made). */
export function runsIn(home: string): { id: string; status: string; problem: string }[] {
  const path = join(home, "kforge.sqlite");
  if (!existsSync(path)) return [];
  const db = openDatabase(path, { readonly: true });
  try {
    return new TraceStore(db).setup().listRuns(100);
  } finally {
    db.close();
  }
}

/** A run recorded as failed before its baselines (as searches of CUDA problems on GPU-less hosts used to leave). */
export function failedRun(home: string, problem: string, problemPath: string, error: string): string {
  const db = openDatabase(join(home, "kforge.sqlite"));
  try {
    const store = new TraceStore(db).setup();
    const runId = newRunId();
    const config = problemPath ? { problemPath } : {};
    createRun(store, { runId, problem, limits: { wallMs: 120_000, maxNodes: 1 }, options: { ...DEFAULT_SEARCH_OPTIONS, branching: 1 }, config });
    store.setRunStatus(runId, "failed", { stopReason: "error", error });
    return runId;
  } finally {
    db.close();
  }
}

/** A folder to put on PYTHONPATH holding a `triton` package: importable (with a version), or one that fails to import. */
export function tritonDir(tmp: string, importable: boolean): string {
  const dir = join(tmp, importable ? "triton-present" : "triton-hidden");
  if (!existsSync(dir)) {
    mkdirSync(join(dir, "triton"), { recursive: true });
    writeFileSync(
      join(dir, "triton", "__init__.py"),
      importable ? '__version__ = "0.0.0-test"\n' : "raise ModuleNotFoundError(\"No module named 'triton' (hidden by the test)\")\n",
    );
  }
  return dir;
}
