/**
 * Verifies hostile candidate modules through the real sandboxed pool and prints one JSON line per module.
 * Run by escape.test.ts as a separate Node process whose environment holds the API keys to steal, so that
 * /proc/<kforge>/environ really contains them. Input on stdin: { names, targets, userns }.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, repoRoot } from "../../core/config.ts";
import { loadProblem } from "../../problems/load.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";

const input = JSON.parse(readFileSync(0, "utf8")) as { names: string[]; targets: Record<string, unknown>; userns: boolean };
const root = repoRoot();
const problem = loadProblem(join(root, "test", "fixtures", "problems", "cpu_tiny"));
const good = readFileSync(join(root, "test", "fixtures", "kernels", "cpu", "good.py"), "utf8");
const pool = createVerifierPool(loadConfig(), {
  staticChecks: false,
  userns: input.userns,
  warmSpares: false,
  limits: { import: 60, correctness: 60 },
});
try {
  for (const name of input.names) {
    const prelude = readFileSync(join(root, "test", "fixtures", "escape", `${name}.py`), "utf8");
    const source = `TARGETS = ${JSON.stringify(input.targets)}\n${prelude}\n\n${good}`;
    const t0 = performance.now();
    const result = await pool.verify({ problem, source, timing: false });
    process.stdout.write(`${JSON.stringify({ name, ms: Math.round(performance.now() - t0), result })}\n`);
  }
} finally {
  await pool.close();
}
