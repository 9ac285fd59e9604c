/**
 * Text from outside (a kernel, a model's idea, a harness error) reaches the terminal inert through every
 * command that prints it: trace (tree, node, diff), export to stdout, memory show/list and verify. Checked by
 * effect: no escape byte in what the command printed, while the text around it is still there.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../memory/db.ts";
import { WinsStore } from "../../memory/wins.ts";
import { CPU_TINY } from "../verifier/helpers.ts";
import { kforge, recordedDb } from "./helpers.ts";

// Retitles the window, clears the screen, and moves the cursor up to overwrite a line.
const HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\x9b31m";
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding terminal control bytes is the point
const NO_ESCAPE = /[\x1b\x9b\x07]/;

/** Runs `fn` with KFORGE_DB (and KFORGE_PYTHON for verify) pointing where the test says. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("outside text is inert on the terminal", () => {
  let fx: ReturnType<typeof recordedDb>;
  let runId: string;
  beforeAll(() => {
    fx = recordedDb();
    runId = fx.run.runId;
    const db = openDatabase(fx.dbPath);
    try {
      // The recorded kernel of 5.1 and the idea of 4.2 carry escape sequences (what a hostile model could write).
      db.prepare(
        `UPDATE trace_artifacts SET content = content || ? WHERE hash = (SELECT kernel_hash FROM trace_nodes WHERE run_id = ? AND label = '5.1')`,
      ).run(`\n# marker-kernel ${HOSTILE}\n`, runId);
      db.prepare(`UPDATE trace_nodes SET title = ? || title, idea = idea || ? WHERE run_id = ? AND label = '4.2'`).run(
        `marker-title ${HOSTILE} `,
        ` marker-idea ${HOSTILE}`,
        runId,
      );
      new WinsStore(db).setup().remember({
        problem: "softcap",
        description: `marker-description ${HOSTILE}`,
        kernelSource: `import triton\n# marker-win ${HOSTILE}\n`,
        speedup: 1.5,
        gpu: `NVIDIA H200 ${HOSTILE}`,
        ideas: [`marker-idea ${HOSTILE}`],
      });
    } finally {
      db.close();
    }
  });
  afterAll(() => fx.cleanup());

  it("trace: the tree, one node and a diff", async () => {
    for (const args of [
      ["trace", runId],
      ["trace", runId, "--node", "5.1"],
      ["trace", runId, "--node", "4.2"],
      ["trace", runId, "--diff", "4.2", "5.1"],
    ]) {
      const r = await kforge([...args, "--db", fx.dbPath]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, args.join(" ")).toMatch(/marker-(kernel|title|idea)/);
      expect(r.stdout, args.join(" ")).not.toMatch(NO_ESCAPE);
    }
  });

  it("export to stdout; --out keeps the exact bytes", async () => {
    const r = await kforge(["export", runId, "--node", "5.1", "--out", "-", "--db", fx.dbPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("marker-kernel");
    expect(r.stdout).not.toMatch(NO_ESCAPE);
    const file = join(fx.dir, "k.py");
    expect((await kforge(["export", runId, "--node", "5.1", "--out", file, "--db", fx.dbPath])).code).toBe(0);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(file, "utf8")).toContain(`marker-kernel ${HOSTILE}`);
  });

  it("memory list and show", async () => {
    await withEnv({ KFORGE_DB: fx.dbPath }, async () => {
      const list = await kforge(["memory", "list"]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain("NVIDIA H200");
      expect(list.stdout).not.toMatch(NO_ESCAPE);
      const id = /#(\d+)/.exec(list.stdout)![1]!;
      const show = await kforge(["memory", "show", id]);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/marker-description[\s\S]*marker-idea[\s\S]*marker-win/);
      expect(show.stdout).not.toMatch(NO_ESCAPE);
    });
  });

  it("verify: a kernel whose error message carries escape sequences", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kforge-inert-"));
    try {
      const file = join(dir, "hostile.py");
      writeFileSync(file, `def attention(q, k, v, *, scale, **params):\n    raise RuntimeError("marker-error " + ${JSON.stringify(HOSTILE)})\n`);
      const r = await withEnv({ KFORGE_HOME: dir, KFORGE_PYTHON: process.env["KFORGE_PYTHON"] ?? "/usr/bin/python3" }, () =>
        kforge(["verify", "--problem", CPU_TINY, "--kernel", file, "--no-timing"]),
      );
      expect(r.stdout + r.stderr).toContain("marker-error");
      expect(r.stdout + r.stderr).not.toMatch(NO_ESCAPE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
