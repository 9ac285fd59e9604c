/**
 * A missing or unusable KFORGE_PYTHON is named as such by `search` and `verify` ("KFORGE_PYTHON (...) was not found: set
 * KFORGE_PYTHON to a Python 3 with PyTorch"), before a run exists, never reported as a broken OS sandbox and never with
 * the advice to run without it (not even with KFORGE_UNSAFE_NO_SANDBOX=1). Real child processes, real SQLite.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CPU_TINY, torchPython } from "../verifier/helpers.ts";
import { cpuKernel } from "./cpu-kernels.ts";
import { runKforge } from "./cli-process.ts";
import { refusalSetup, runsIn } from "./refusal-helpers.ts";

let t: Awaited<ReturnType<typeof refusalSetup>>;
beforeAll(async () => {
  t = await refusalSetup();
});
afterAll(async () => {
  await t.close();
});
const envWith = (extra: NodeJS.ProcessEnv = {}) => t.envWith(extra);

describe("a missing Python is named as such, never as a broken sandbox", () => {
  const notFound = "error (user): KFORGE_PYTHON (/nonexistent/python) was not found: set KFORGE_PYTHON to a Python 3 with PyTorch";

  it("search, with and without KFORGE_UNSAFE_NO_SANDBOX; verify", async () => {
    for (const extra of [{}, { KFORGE_UNSAFE_NO_SANDBOX: "1" }]) {
      const { home, env } = envWith({ KFORGE_PYTHON: "/nonexistent/python", ...extra });
      const r = await runKforge(["search", "--problem", CPU_TINY, "--max-nodes", "1"], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(notFound);
      expect(r.stderr).not.toMatch(/sandbox|KFORGE_UNSAFE_NO_SANDBOX|ENOENT/);
      expect(runsIn(home)).toEqual([]);
    }
    const kernel = join(t.tmp, "k.py");
    writeFileSync(kernel, cpuKernel("good", "a kernel"));
    const { env } = envWith({ KFORGE_PYTHON: "/nonexistent/python" });
    const v = await runKforge(["verify", "--problem", CPU_TINY, "--kernel", kernel, "--no-timing"], env);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(notFound);
    expect(v.stderr).not.toMatch(/sandbox|KFORGE_UNSAFE_NO_SANDBOX|ENOENT/);
    // doctor: the sandbox line says it was not probed and why, with the Python's fix, not the sandbox's.
    const d = await runKforge(["doctor"], env);
    expect(d.stdout).toMatch(/missing sandbox\s+not probed: KFORGE_PYTHON \(\/nonexistent\/python\) was not found/);
    expect(d.stdout).not.toMatch(/KFORGE_UNSAFE_NO_SANDBOX|run as root/);
  }, 180_000);

  it("a name not on PATH, a file that is not executable, a Python without PyTorch", async () => {
    const bare = await runKforge(["search", "--problem", CPU_TINY], envWith({ KFORGE_PYTHON: "kforge-no-such-python3" }).env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("KFORGE_PYTHON (kforge-no-such-python3) was not found on PATH: set KFORGE_PYTHON to a Python 3 with PyTorch");

    const plain = join(t.tmp, "not-executable-python");
    writeFileSync(plain, "#!/bin/sh\n");
    chmodSync(plain, 0o644);
    const noExec = await runKforge(["search", "--problem", CPU_TINY], envWith({ KFORGE_PYTHON: plain }).env);
    expect(noExec.code).toBe(2);
    expect(noExec.stderr).toContain(`KFORGE_PYTHON (${plain}) is not executable: set KFORGE_PYTHON to a Python 3 with PyTorch`);
    expect(noExec.stderr).not.toMatch(/KFORGE_UNSAFE_NO_SANDBOX/);

    // The same interpreter without its site-packages: it runs, the sandbox works, but it has no torch.
    const noTorch = join(t.tmp, "python-without-torch");
    writeFileSync(noTorch, `#!/bin/sh\nexec ${torchPython()} -S "$@"\n`);
    chmodSync(noTorch, 0o755);
    const { home, env } = envWith({ KFORGE_PYTHON: noTorch });
    const r = await runKforge(["search", "--problem", CPU_TINY], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error (user): the verifier's Python (KFORGE_PYTHON=${noTorch}) has no PyTorch (ModuleNotFoundError: No module named 'torch')`,
    );
    expect(r.stderr).toContain("hint: set KFORGE_PYTHON to a Python 3 with PyTorch");
    expect(runsIn(home)).toEqual([]);
  }, 120_000);
});
