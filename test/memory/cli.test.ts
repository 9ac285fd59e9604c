import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { familyWin, FAMILIES, rng } from "../../bench/_shared/synthetic-wins.ts";
import { main } from "../../cli/main.ts";
import { repoRoot } from "../../core/config.ts";
import { H100, openStore, tempDbPath } from "./helpers.ts";

/** Runs `kforge ARGS` in this process against the database at `db`; returns exit code and output. */
async function kforge(db: string, args: string[]) {
  let stdout = "";
  let stderr = "";
  const sink = (f: (s: string) => void) =>
    new Writable({
      write: (chunk, _e, cb) => {
        f(String(chunk));
        cb();
      },
    });
  const before = process.env["KFORGE_DB"];
  process.env["KFORGE_DB"] = db;
  try {
    const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
    return { code, stdout, stderr };
  } finally {
    if (before === undefined) delete process.env["KFORGE_DB"];
    else process.env["KFORGE_DB"] = before;
  }
}

/** A memory with two wins of each suite family on the H100. */
function filledDb(): string {
  const { path, db, store } = openStore();
  const r = rng(5);
  FAMILIES.filter((f) => !["softcap_window", "alibi_document"].includes(f.problem)).forEach((f, i) => {
    store.remember(familyWin(f, r, 2 * i, { gpu: H100 }));
    store.remember(familyWin(f, r, 2 * i + 1, { gpu: H100 }));
  });
  db.close();
  return path;
}

afterEach(() => delete process.env["KFORGE_DB"]);

describe("kforge memory", () => {
  it("lists, filters, shows and removes wins", async () => {
    const db = filledDb();
    const list = await kforge(db, ["memory", "list", "--json"]);
    expect(list.code).toBe(0);
    const wins = JSON.parse(list.stdout) as Array<{ id: number; problem: string }>;
    expect(wins).toHaveLength(24);
    const softcap = JSON.parse((await kforge(db, ["memory", "list", "--problem", "softcap", "--json"])).stdout) as typeof wins;
    expect(softcap.map((w) => w.problem)).toEqual(["softcap", "softcap"]);
    const text = await kforge(db, ["memory", "list"]);
    expect(text.stdout).toMatch(/^#\d+\s+softcap\s+\d\.\d\dx .*\[softcap\]$/m);

    const show = await kforge(db, ["memory", "show", String(softcap[0]!.id)]);
    expect(show.stdout).toContain("--- kernel");
    expect(show.stdout).toContain("torch.tanh(score");
    expect(show.stdout).toMatch(/kernel: sha256 [0-9a-f]{64}/);

    expect((await kforge(db, ["memory", "rm", String(softcap[0]!.id)])).code).toBe(0);
    const missing = await kforge(db, ["memory", "rm", String(softcap[0]!.id)]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`no win #${softcap[0]!.id}`);
    const bad = await kforge(db, ["memory", "show", "abc"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error \(user\): expected a win id/);
  });

  it("previews retrieval with the features it read and a score breakdown per win", async () => {
    const db = filledDb();
    const r = await kforge(db, ["memory", "search", "softcap with a sliding window", "--gpu", H100, "-k", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^variant features: softcap, mask, windowed$/m);
    expect(r.stdout).toContain('windowed: description says "sliding window"');
    expect(r.stdout).toMatch(/^1\. #\d+ (sliding_window|softcap|softcap_causal) /m);
    expect(r.stdout).toMatch(/total \d\.\d{3}; similarity .*; coverage .*; text .*; speedup .*; gpu 1/);
    const json = JSON.parse((await kforge(db, ["memory", "search", "softcap with a sliding window", "--json", "-k", "2"])).stdout);
    const problems = (json.results as Array<{ win: { problem: string } }>).map((x) => x.win.problem);
    expect(problems).toContain("sliding_window");

    // A user's mod files and a suite problem work as queries too.
    const mod = join(dirname(db), "my_mask.py");
    writeFileSync(mod, "def my_mask(b, h, q_idx, kv_idx):\n    return (doc[q_idx] == doc[kv_idx]) & (q_idx >= kv_idx)\n");
    expect((await kforge(db, ["memory", "search", "--mask-mod", mod])).stdout).toMatch(/^variant features: causal, mask, document$/m);
    expect((await kforge(db, ["memory", "search", "--problem", "sliding_window"])).stdout).toMatch(/^1\. #\d+ sliding_window /m);
    expect((await kforge(db, ["memory", "search"])).code).toBe(2);
  });

  it("exports, then imports in a real CLI process, reporting skipped entries", async () => {
    const from = filledDb();
    const file = join(dirname(from), "team-wins.json");
    const run = (db: string, args: string[]) =>
      spawnSync(process.execPath, [join(repoRoot(), "bin", "kforge.js"), ...args], {
        encoding: "utf8",
        env: { ...process.env, KFORGE_DB: db },
        timeout: 60_000,
      });
    const exp = await kforge(from, ["memory", "export", file]);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toContain(`wrote 24 wins to ${file}`);

    const exported = JSON.parse(readFileSync(file, "utf8"));
    exported.wins[0].kernel.source += "\n# tampered\n";
    exported.wins[1].speedup = "fast";
    writeFileSync(file, JSON.stringify(exported));
    const to = tempDbPath();
    const imp = run(to, ["memory", "import", file, "--json"]);
    expect(imp.status).toBe(0);
    const report = JSON.parse(imp.stdout);
    expect(report.imported).toHaveLength(22);
    expect(report.skipped.map((s: { index: number }) => s.index)).toEqual([0, 1]);
    expect(report.skipped[0].reason).toMatch(/sha256/);

    const notJson = await kforge(to, ["memory", "import", join(repoRoot(), "package.json")]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/not a kforge wins file/);
  });
});
