/** A kforge-like process for the kill -9 test: a pool with warm spares, busy verifying a kernel that sleeps. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, repoRoot } from "../../core/config.ts";
import { loadProblem } from "../../problems/load.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";

const tmpRoot = process.argv[2] as string;
const root = repoRoot();
const problem = loadProblem(join(root, "test", "fixtures", "problems", "cpu_tiny"));
const pool = createVerifierPool(loadConfig(), { problem, tmpRoot, staticChecks: false, limits: { compile: 600, import: 600 } });
const source = `import os\nif os.fork() == 0:\n    os.setsid()\n    os.execv("/bin/sleep", ["sleep", "600"])\n${readFileSync(join(root, "test", "fixtures", "kernels", "cpu", "sleep.py"), "utf8")}`;
process.stdout.write("verifying\n");
await pool.verify({ problem, source, timing: false });
