import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { openDatabase } from "../../memory/db.ts";
import { retrieveWins } from "../../memory/retrieve.ts";
import { WinsStore } from "../../memory/wins.ts";
import { tempDbPath } from "./helpers.ts";

/** Starts the writer fixture in its own Node process (tsx loader), on the same database file. */
function startWriter(path: string, count: number, seed: number) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot(), "test", "memory", "fixtures", "writer.ts"), path, String(count), String(seed)],
    {
      cwd: repoRoot(),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

describe("a reader and writers at once on one WAL file", () => {
  it("reads consistent, growing snapshots while another process writes", async () => {
    const path = tempDbPath();
    const reader = new WinsStore(openDatabase(path)).setup();
    const total = 120;
    const writer = startWriter(path, total, 1);
    let exited = false;
    void writer.done.then(() => (exited = true));
    const counts: number[] = [];
    let searches = 0;
    while (!exited) {
      const n = reader.count();
      counts.push(n);
      // Every win the reader sees is complete: its kernel is there, and retrieval works mid-write.
      for (const w of reader.list({ limit: 5 })) expect(reader.get(w.id)!.kernelSource.length).toBeGreaterThan(0);
      if (n > 0) {
        expect(retrieveWins(reader, { description: "softcap with a sliding window" }, { k: 3 }).results.length).toBeGreaterThan(0);
        searches++;
      }
      await sleep(5);
    }
    const result = await writer.done;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ statuses: { inserted: total } });
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBeGreaterThan(2); // the reads really overlapped the writes
    expect(searches).toBeGreaterThan(0);
    expect(reader.count()).toBe(total);
  });

  it("two writer processes remembering the same kernels store each kernel once, without errors", async () => {
    const path = tempDbPath();
    const total = 60;
    const [a, b] = [startWriter(path, total, 1), startWriter(path, total, 1)]; // same seed: same kernels
    const [ra, rb] = await Promise.all([a.done, b.done]);
    for (const r of [ra, rb]) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const statuses = [JSON.parse(ra.stdout).statuses, JSON.parse(rb.stdout).statuses] as Array<Record<string, number>>;
    const sum = (k: string) => statuses.reduce((s, x) => s + (x[k] ?? 0), 0);
    expect(sum("inserted")).toBe(total);
    expect(sum("inserted") + sum("duplicate") + sum("improved")).toBe(2 * total);
    const db = openDatabase(path);
    expect(new WinsStore(db).setup().count()).toBe(total);
    expect(db.prepare("SELECT COUNT(*) FROM win_kernels").pluck().get()).toBe(total);
  });
});
