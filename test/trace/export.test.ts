import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import type { VerifyResult } from "../../tools/verifier/result.ts";
import { okResult } from "../fixtures/trace-fixture-content.ts";
import { kforge, recordedDb } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";

/** Parses the module with Python's own parser: its `__kforge__` dict, function names and docstring (nothing is run). */
function pythonView(path: string): { meta: Record<string, unknown>; funcs: string[]; doc: string } {
  const script = `import ast, json, sys
tree = ast.parse(open(sys.argv[1]).read())
meta = [n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__kforge__"]
funcs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
print(json.dumps({"meta": ast.literal_eval(meta[0].value), "funcs": funcs, "doc": ast.get_docstring(tree)}))`;
  return JSON.parse(execFileSync(PYTHON, ["-c", script, path], { encoding: "utf8" }));
}

/** The docstring's usage example, exactly as written (its indented lines after "Usage (runs as written):"). */
function usageOf(doc: string): string {
  const lines = doc.split("\n");
  const start = lines.indexOf("Usage (runs as written):") + 2;
  const end = lines.indexOf("", start);
  expect(start, doc).toBeGreaterThan(1);
  return lines
    .slice(start, end)
    .map((l) => l.replace(/^ {4}/, ""))
    .join("\n");
}

/** A correct CPU result as the verifier reports one (CPU test problems are not timed against a GPU baseline). */
function cpuOk(shapes: { B: number; H: number; Hkv: number; S: number; D: number }[]): VerifyResult {
  return {
    status: "ok",
    checks: shapes.flatMap((shape) => [0, 1].map((seed) => ({ shape, seed, passed: true, maxError: 0.004, allowance: 0.02 }))),
    timings: [],
    speedup: null,
    tflops: null,
    phases: { importMs: 80, correctnessMs: 300, totalMs: 420 },
  };
}

/** A database with one run of the problem in `problemDir`, whose node 1.1 holds `kernel`, verified correct. */
function cpuRun(
  dir: string,
  problem: string,
  problemDir: string,
  kernel: string,
  verified: VerifyResult = cpuOk([{ B: 1, H: 2, Hkv: 2, S: 17, D: 16 }]),
): string {
  const dbPath = join(dir, `${problem}.sqlite`);
  const db = openDatabase(dbPath);
  try {
    const store = new TraceStore(db).setup();
    const runId = `r-${problem}`;
    store.createRun({ id: runId, problem, config: { problemPath: problemDir }, budget: { wallMs: 60_000 } });
    store.upsertNode({ id: `${runId}.0`, runId, parentId: null, label: "root", depth: 0, iteration: 0, status: "root", origin: "root" });
    store.upsertNode({
      id: `${runId}.1.1`,
      runId,
      parentId: `${runId}.0`,
      label: "1.1",
      depth: 1,
      iteration: 1,
      title: "plain torch math",
      status: "coding",
    });
    store.setNodeKernel(runId, `${runId}.1.1`, kernel);
    store.recordVerification(runId, `${runId}.1.1`, verified);
    store.setRunStatus(runId, "done", { stopReason: "budget:nodes" });
  } finally {
    db.close();
  }
  return dbPath;
}

/**
 * Runs the module's usage example verbatim with the harness Python, in the folder of the module, then
 * compares its `out` with the problem's float64 reference called with the problem's params.
 */
function runUsage(modulePath: string, referencePath: string, params: string): { shape: number[]; dtype: string; err: number; device: string } {
  const usage = usageOf(pythonView(modulePath).doc);
  const check = `
import importlib.util, json
_spec = importlib.util.spec_from_file_location("kforge_reference", ${JSON.stringify(referencePath)})
_ref = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(_ref)
_want = _ref.reference(q.double(), k.double(), v.double(), scale=q.shape[-1] ** -0.5, ${params})
print(json.dumps({"shape": list(out.shape), "dtype": str(out.dtype), "device": str(out.device), "err": (out.double() - _want).abs().max().item()}))`;
  const dir = join(modulePath, "..");
  writeFileSync(join(dir, "usage_check.py"), `${usage}\n${check}\n`);
  const out = execFileSync(PYTHON, ["usage_check.py"], { cwd: dir, encoding: "utf8", env: { ...process.env, PYTHONPATH: dir } });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

describe("kforge export", () => {
  let fx: ReturnType<typeof recordedDb>;
  let db: string[];
  beforeAll(() => {
    fx = recordedDb();
    db = ["--db", fx.dbPath];
  });
  afterAll(() => fx.cleanup());

  it("writes the best correct kernel as a module Python parses, its provenance in the docstring", async () => {
    const out = join(fx.dir, "softcap_kernel.py");
    const r = await kforge(["export", fx.run.runId, "--out", out, ...db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    const py = pythonView(out);
    const doc = py.doc.split("\n");
    expect(doc[0]).toMatch(/^softcap attention kernel found by kforge: tanh soft-capping/);
    expect(doc).toContain(`    run:       ${fx.run.runId}`);
    expect(doc).toContain(`    node:      5.1 (${fx.run.runId}.5.1): 128x64, 8 warps, 3 stages`);
    expect(doc).toContain("    speedup:   1.83x vs flex (geometric mean over benchmark shapes)");
    expect(doc).toContain("    TFLOP/s:   309");
    expect(doc).toContain("    device:    NVIDIA H100 80GB HBM3");
    expect(doc.some((l) => /^ {4}verified: {2}2026-11-23T22:\d\d:\d\d\.\d{3}Z$/.test(l))).toBe(true);
    // The usage runs on the problem's device and dtype, from the module's own name, with cap as a default.
    expect(usageOf(py.doc)).toBe(
      [
        "import torch",
        "from softcap_kernel import attention",
        'q = torch.randn(4, 16, 4096, 128, dtype=torch.bfloat16, device="cuda")',
        'k = torch.randn(4, 16, 4096, 128, dtype=torch.bfloat16, device="cuda")',
        'v = torch.randn(4, 16, 4096, 128, dtype=torch.bfloat16, device="cuda")',
        "out = attention(q, k, v)",
      ].join("\n"),
    );
    expect(readFileSync(out, "utf8")).toContain("def attention(q, k, v, *, scale=None, cap=30):");
    expect(py.funcs.filter((f) => f === "attention")).toHaveLength(2); // the kernel's, then the drop-in entry point
    expect(py.meta).toMatchObject({
      problem: "softcap",
      run: fx.run.runId,
      label: "5.1",
      speedup: 1.83,
      baseline: "flex",
      gpu: "NVIDIA H100 80GB HBM3",
      device: "cuda",
    });
  });

  it("exports a chosen node to the default file name, and prints to stdout with --out -", async () => {
    const cwd = process.cwd();
    process.chdir(fx.dir);
    try {
      const r = await kforge(["export", fx.run.runId, "--node", "4.2", "--json", ...db]);
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout);
      expect(info).toMatchObject({ label: "4.2", speedup: 1.71, path: join(fx.dir, "kforge_softcap_4_2.py") });
      expect(existsSync(info.path)).toBe(true);
      const py = pythonView(info.path);
      expect(py.meta).toMatchObject({ label: "4.2" });
      expect(usageOf(py.doc)).toContain("from kforge_softcap_4_2 import attention");
    } finally {
      process.chdir(cwd);
    }
    const printed = await kforge(["export", fx.run.runId, "--node", "6.1", "--out", "-", ...db]);
    expect(printed.stdout.startsWith('"""softcap attention kernel')).toBe(true);
    expect(printed.stdout).toContain("BLOCK_M = 128");
  });

  it("creates a missing parent folder of --out; a path it cannot write is a user error, not a stack trace", async () => {
    const out = join(fx.dir, "exports", "softcap", "kernel.py");
    expect(existsSync(join(fx.dir, "exports"))).toBe(false);
    const r = await kforge(["export", fx.run.runId, "--out", out, ...db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stdout).toContain(`created folder ${join(fx.dir, "exports")}`);
    expect(pythonView(out).meta).toMatchObject({ label: "5.1" });
    // Once there, the folder is not reported again.
    const again = await kforge(["export", fx.run.runId, "--out", out, "--json", ...db]);
    expect(JSON.parse(again.stdout)).toMatchObject({ path: out, createdFolder: null });

    writeFileSync(join(fx.dir, "a-file"), "");
    const under = join(fx.dir, "a-file", "kernel.py");
    const bad = await kforge(["export", fx.run.runId, "--out", under, ...db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`error (user): cannot write ${under}: a part of its path is a file, not a folder`);
    expect(bad.stderr).not.toMatch(/internal|ENOTDIR|\n\s+at /);
    const folder = await kforge(["export", fx.run.runId, "--out", fx.dir, ...db]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`cannot write ${fx.dir}: it is a folder`);
  });

  it("refuses nodes that are not correct", async () => {
    const r = await kforge(["export", fx.run.runId, "--node", "2.2", ...db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("node 2.2 is not a correct kernel (wrong_output)");
  });

  it("a CPU test problem's module runs on the CPU exactly as its usage says, with cap from its defaults", async () => {
    const problemDir = join(repoRoot(), "test", "fixtures", "problems", "cpu_tiny");
    const kernel = readFileSync(join(repoRoot(), "test", "fixtures", "kernels", "cpu", "good.py"), "utf8");
    const dbPath = cpuRun(fx.dir, "cpu_tiny", problemDir, kernel);
    const out = join(fx.dir, "cpu", "k.py");
    mkdirSync(join(fx.dir, "cpu"), { recursive: true });
    const r = await kforge(["export", "latest", "--out", out, "--db", dbPath]);
    expect(r.code, r.stderr).toBe(0);
    const usage = usageOf(pythonView(out).doc);
    expect(usage).toContain("from k import attention");
    expect(usage).toContain('q = torch.randn(1, 2, 64, 16, dtype=torch.bfloat16, device="cpu")');
    expect(usage).not.toContain("cuda");
    const result = runUsage(out, join(problemDir, "reference.py"), "cap=30");
    expect(result).toMatchObject({ shape: [1, 2, 64, 16], dtype: "torch.bfloat16", device: "cpu" });
    expect(result.err).toBeLessThan(0.05); // bf16 output against the float64 reference
    expect(pythonView(out).doc).toContain("    device:    CPU");
  });

  it("generator params are built in the module: ALiBi slopes by default, document ids by its helper in the usage", async () => {
    // A CPU problem with both generators, in a folder of its own (as a user's variant would be).
    const problemDir = join(fx.dir, "cpu_alibi_docs");
    mkdirSync(problemDir, { recursive: true });
    const spec = JSON.parse(readFileSync(join(repoRoot(), "test", "fixtures", "problems", "cpu_tiny", "problem.json"), "utf8"));
    writeFileSync(
      join(problemDir, "problem.json"),
      JSON.stringify({
        ...spec,
        name: "cpu_alibi_docs",
        description: "test: ALiBi within documents",
        params: { slopes: "alibi", doc_ids: "random_docs(3)" },
        tags: ["alibi", "document"],
      }),
    );
    writeFileSync(join(problemDir, "prompt.md"), "ALiBi within documents, on the CPU.\n");
    const math = `    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    s = torch.matmul(q.double(), k.double().transpose(-2, -1)) * scale
    n = q.shape[-2]
    pos = torch.arange(n, device=q.device)
    s = s + slopes.double()[None, :, None, None] * (pos[None, :] - pos[:, None]).double()
    s = s.masked_fill(doc_ids[:, None] != doc_ids[None, :], float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v.double())`;
    writeFileSync(join(problemDir, "reference.py"), `import torch\n\n\ndef reference(q, k, v, *, scale, slopes, doc_ids):\n${math}\n`);
    const kernel = `"""A CPU candidate: ALiBi bias, attention within documents."""\nfrom __future__ import annotations\nimport torch\n\n\ndef attention(q, k, v, *, scale, slopes, doc_ids):\n${math.replace(/return (.*)$/, "return ($1).to(q.dtype)")}\n`;
    const dbPath = cpuRun(fx.dir, "cpu_alibi_docs", problemDir, kernel);
    const out = join(fx.dir, "alibi", "alibi_docs.py");
    mkdirSync(join(fx.dir, "alibi"), { recursive: true });
    const r = await kforge(["export", "latest", "--out", out, "--db", dbPath]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text.startsWith('"""cpu_alibi_docs attention kernel')).toBe(true);
    expect(text).toContain("def attention(q, k, v, *, scale=None, slopes=None, doc_ids):");
    expect(text).toContain("def alibi_slopes(n_heads, device=None):");
    expect(usageOf(pythonView(out).doc)).toContain('out = attention(q, k, v, doc_ids=random_docs(64, 3, device="cpu"))');
    // The kernel's own `from __future__` moved above it, right after the docstring, so the module still imports.
    // The reference gets slopes from ALiBi's definition (not the module's helper) and the ids the usage passed.
    const slopes = "slopes=torch.pow(2.0, -8.0 * (torch.arange(q.shape[1], dtype=torch.float64) + 1) / q.shape[1])";
    const result = runUsage(out, join(problemDir, "reference.py"), `${slopes}, doc_ids=random_docs(64, 3, device="cpu")`);
    expect(result).toMatchObject({ shape: [1, 2, 64, 16], dtype: "torch.bfloat16" });
    expect(result.err).toBeLessThan(0.05);
  });

  it("exports GPU problems with a usage on cuda in bf16 (kept in test-results/export-gpu for test/gpu/export_usage_gpu.py)", async () => {
    const gpuDir = join(repoRoot(), "test-results", "export-gpu");
    mkdirSync(gpuDir, { recursive: true });
    const kernels: Record<string, string> = {
      softcap: readFileSync(join(repoRoot(), "test", "fixtures", "kernels", "good_softcap.py"), "utf8"),
      // The offline template's modules for the generator problems (pure text generation, no GPU needed).
      alibi: execFileSync(PYTHON, [join(repoRoot(), "tools", "offline", "render.py"), "--problem", join(repoRoot(), "problems", "alibi")], {
        encoding: "utf8",
      }),
      document: execFileSync(PYTHON, [join(repoRoot(), "tools", "offline", "render.py"), "--problem", join(repoRoot(), "problems", "document")], {
        encoding: "utf8",
      }),
    };
    const index: { problem: string; module: string }[] = [];
    for (const [problem, kernel] of Object.entries(kernels)) {
      const dbPath = cpuRun(fx.dir, problem, join(repoRoot(), "problems", problem), kernel, okResult(1.5));
      const module = `kforge_gpu_${problem}`;
      const r = await kforge(["export", "latest", "--out", join(gpuDir, `${module}.py`), "--db", dbPath]);
      expect(r.code, r.stderr).toBe(0);
      const usage = usageOf(pythonView(join(gpuDir, `${module}.py`)).doc);
      expect(usage).toContain('q = torch.randn(4, 16, 4096, 128, dtype=torch.bfloat16, device="cuda")');
      index.push({ problem, module });
    }
    expect(readFileSync(join(gpuDir, "kforge_gpu_alibi.py"), "utf8")).toContain("def attention(q, k, v, *, scale=None, slopes=None):");
    expect(usageOf(pythonView(join(gpuDir, "kforge_gpu_document.py")).doc)).toContain(
      'out = attention(q, k, v, doc_ids=random_docs(4096, 8, device="cuda"))',
    );
    writeFileSync(join(gpuDir, "index.json"), JSON.stringify(index, null, 2));
  });
});
