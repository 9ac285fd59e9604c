/**
 * User variants end to end, through the real CLI, the real sandboxed harness and the real verifier on the CPU:
 * a factory file capturing tensors becomes a problem in KFORGE_HOME/problems, is listed and found by name, and a
 * kernel is checked against it (right, ignoring a captured tensor, mutating one); user errors name file and line.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../core/config.ts";
import { loadProblem, problemsDir } from "../../problems/load.ts";
import { openDatabase } from "../../memory/db.ts";
import { TraceStore } from "../../memory/trace-store.ts";
import { describeInputs } from "../../problems/inputs-text.ts";
import { kforgeInProcess as run, torchPython } from "./helpers.ts";
import { startScriptedServer } from "../../tools/scripted-server/server.ts";
import { kernelModel } from "../search/script.ts";

const SLOW = 240_000;
const FIX = join(repoRoot(), "test", "fixtures", "variants");
let home: string;
let tmp: string;
let savedHome: string | undefined;
let savedPython: string | undefined;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "kforge-home-"));
  tmp = mkdtempSync(join(tmpdir(), "kforge-variant-files-"));
  savedHome = process.env["KFORGE_HOME"];
  savedPython = process.env["KFORGE_PYTHON"];
  process.env["KFORGE_HOME"] = home; // the CLI reads its config from the environment
  process.env["KFORGE_PYTHON"] = torchPython();
});
afterAll(() => {
  if (savedHome === undefined) delete process.env["KFORGE_HOME"];
  else process.env["KFORGE_HOME"] = savedHome;
  if (savedPython === undefined) delete process.env["KFORGE_PYTHON"];
  else process.env["KFORGE_PYTHON"] = savedPython;
  rmSync(home, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

describe("a variant written as its users write it", () => {
  it(
    "becomes a problem in KFORGE_HOME/problems with its captured tensors, listed and verified by name",
    async () => {
      const fx = join(FIX, "graph_bias.py");
      const made = await run(["problems", "new", "graph_bias", "--score-mod", fx, "--mask-mod", fx, "--device", "cpu"]);
      expect(made.stderr).toBe("");
      expect(made.status).toBe(0);
      expect(made.stdout).toContain("captured tensors: bias_table float32 [H, 8]; dist int64 [B, S, S]; is_global bool [S]");
      expect(made.stdout).toContain("offline template: yes");
      const dir = join(home, "problems", "graph_bias");
      expect(existsSync(join(dir, "graph_bias.py"))).toBe(true);
      expect(existsSync(join(problemsDir(), "graph_bias"))).toBe(false); // never into the package
      const p = loadProblem("graph_bias");
      expect(p.dir).toBe(dir);
      expect(p.spec.params).toEqual({});
      expect(p.spec.variant?.score).toEqual({ file: "graph_bias.py", symbol: "generate_graph_bias", factory: true });
      expect(p.spec.tags).toEqual(expect.arrayContaining(["bias", "causal", "mask"]));
      expect(p.referenceSource).toContain("def generate_graph_bias(B, H, S, S_kv, device, generator):"); // what the model reads
      const ir = JSON.parse(readFileSync(join(dir, "mods.json"), "utf8"));
      expect(JSON.stringify(ir.score)).toContain('{"load":"bias_table","index":[{"var":"h"},{"load":"dist"');
      expect(ir.tensors).toEqual({
        bias_table: { rank: 2, dtype: "float32" },
        dist: { rank: 3, dtype: "int64" },
        is_global: { rank: 1, dtype: "bool" },
      });
      // the model is told what arrives, by name, shape and dtype
      expect(p.prompt).toContain("def attention(q, k, v, *, scale: float, bias_table: torch.Tensor, dist: torch.Tensor, is_global: torch.Tensor)");
      expect(describeInputs(p)).toContain("  - `dist`: int64 [B, S, S]");
      // --device cpu: the prompt.md it wrote sends the model to the CPU lane, where PyTorch ops may do the work
      expect(p.prompt).toContain("Write a fast kernel for kforge's CPU lane (a test problem verified on the CPU, without a GPU)");
      expect(p.prompt).toContain("CPU tensors (Hkv divides H)");
      expect(p.prompt).toContain("PyTorch ops may do the work there");
      expect(p.prompt + describeInputs(p)).not.toMatch(/GPU kernel|Hopper|on the GPU|CUDA tensors|PyTorch may only allocate|compiled FlexAttention/);

      const list = await run(["problems"]);
      expect(list.stdout).toMatch(/your variants \(.*problems\):\ngraph_bias\s+user variant from graph_bias\.py/);

      const good = join(FIX, "graph_bias_kernel.py");
      const ok = await run(["verify", "--problem", "graph_bias", "--kernel", good, "--no-timing", "--json"]);
      expect(JSON.parse(ok.stdout).status, ok.stdout + ok.stderr).toBe("ok");

      const ignores = join(tmp, "ignores_table.py");
      writeFileSync(ignores, readFileSync(good, "utf8").replace(/^.*# IGNORE_TABLE$/m, "    s = s + 0.0"));
      const wrong = JSON.parse((await run(["verify", "--problem", "graph_bias", "--kernel", ignores, "--no-timing", "--json"])).stdout);
      expect(wrong.status).toBe("wrong_output");

      const mutates = join(tmp, "mutates_dist.py");
      // after its own reads of dist: the kernel itself stays in bounds, only the input comes back changed
      writeFileSync(
        mutates,
        readFileSync(good, "utf8").replace("    return (p @ v).to(q.dtype)", "    dist.zero_()\n    return (p @ v).to(q.dtype)"),
      );
      const cheat = JSON.parse((await run(["verify", "--problem", "graph_bias", "--kernel", mutates, "--no-timing", "--json"])).stdout);
      expect(cheat.status).toBe("rejected");
      expect(cheat.message).toContain("`dist`");
    },
    SLOW,
  );

  it(
    "takes a mask-only file given as both --score-mod and --mask-mod, with --shapes choosing the benchmark",
    async () => {
      const fx = join(FIX, "window_only.py");
      const r = await run([
        "problems",
        "new",
        "window_only",
        "--score-mod",
        fx,
        "--mask-mod",
        fx,
        "--shapes",
        "8x32x16384x128,2x16x1024:8192x64",
        "--dtype",
        "fp16",
      ]);
      expect(r.stderr).toBe("");
      const p = loadProblem("window_only");
      expect(p.spec.variant?.score).toBeNull();
      expect(p.spec.variant?.mask).toEqual({ file: "window_only.py", symbol: "mask_mod", factory: false });
      expect(p.spec.dtype).toBe("fp16");
      expect(p.spec.shapes.benchmark).toEqual([
        { B: 8, H: 32, S: 16384, D: 128 },
        { B: 2, H: 16, S: 1024, Skv: 8192, D: 64 },
      ]);
      const seqs = p.spec.shapes.correctness.map((s) => [s.S, s.Skv ?? s.S]);
      expect(seqs).toContainEqual([17, 17]);
      expect(seqs).toContainEqual([17, 137]); // the S_kv/S ratio kept, odd lengths kept
      expect(p.spec.shapes.correctness.every((s) => s.S * (s.Skv ?? s.S) <= 1537 * 1537 * 1.01)).toBe(true);
    },
    SLOW,
  );

  it(
    "search --shapes benchmarks the chosen shapes, and the run keeps them for a resume",
    async () => {
      const fx = join(FIX, "window_only.py");
      expect((await run(["problems", "new", "window_cpu", "--mask-mod", fx, "--device", "cpu"])).status).toBe(0);
      // A model, not the offline policy: that writes Triton kernels, and the CPU lane here may have no Triton.
      const model = await startScriptedServer(kernelModel({ fates: ["ok 1.0"] }));
      Object.assign(process.env, { KFORGE_PROVIDER: "openai-compatible", KFORGE_BASE_URL: model.baseUrl, KFORGE_MODEL: "scripted-model" });
      try {
        const r = await run(["search", "--problem", "window_cpu", "--shapes", "1x2x48x16", "--max-nodes", "1", "--budget", "60s", "--quiet"]);
        const runId = /run (\S+)/.exec(r.stdout + r.stderr)?.[1];
        expect(runId, r.stdout + r.stderr).toBeDefined();
        const db = openDatabase(join(home, "kforge.sqlite"));
        try {
          const store = new TraceStore(db).setup();
          expect(store.getRun(runId!)!.config).toMatchObject({ shapes: "1x2x48x16", problemPath: join(home, "problems", "window_cpu") });
          const baseline = store.getBaseline(runId!) as { shapes: Record<string, unknown> } | null;
          expect(Object.keys(baseline?.shapes ?? {})).toEqual(["1x2x2x48x16"]);
        } finally {
          db.close();
        }
      } finally {
        for (const k of ["KFORGE_PROVIDER", "KFORGE_BASE_URL", "KFORGE_MODEL"]) delete process.env[k];
        await model.close();
      }
    },
    SLOW,
  );

  it("renders the offline template from the traced IR, and the kernel matches the variant's reference (CPU emulator)", async () => {
    // graph_bias: nested loads, or_masks, an unrolled loop; alibi_inline: H lifted from the factory; prefix_scalar: a 0-d capture
    for (const name of ["alibi_inline", "prefix_scalar"]) {
      const fx = join(FIX, `${name}.py`);
      expect((await run(["problems", "new", name, "--score-mod", fx, "--mask-mod", fx])).stderr).toBe("");
    }
    expect(JSON.parse(readFileSync(join(home, "problems", "alibi_inline", "mods.json"), "utf8")).scalars).toEqual(["shape_H"]);
    const dirs = ["graph_bias", "alibi_inline", "prefix_scalar"].map((n) => join(home, "problems", n));
    expect(existsSync(join(dirs[0]!, "mods.json"))).toBe(true); // made by the first test
    const out = execFileSync(torchPython(), [join(repoRoot(), "test", "problems", "variant_emu.py"), ...dirs], {
      encoding: "utf8",
      timeout: 600_000,
    });
    const rows = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { problem: string; passed: boolean; maxError: number; allowance: number });
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r.passed, JSON.stringify(r)).toBe(true);
  }, 600_000);

  it(
    "copies a data file the variant loads (--data) and reads it inside the sandbox",
    async () => {
      const table = join(tmp, "rel_table.pt");
      execFileSync(torchPython(), ["-c", `import torch; torch.save(torch.arange(36.0).reshape(4, 9) / 10, ${JSON.stringify(table)})`]);
      const mod = join(tmp, "learned_rel.py");
      writeFileSync(
        mod,
        [
          "import os",
          "import torch",
          "",
          "",
          "def generate_learned_rel(device):",
          '    rel_table = torch.load(os.path.join(os.path.dirname(__file__), "rel_table.pt")).to(device)',
          "",
          "    def score_mod(score, b, h, q_idx, kv_idx):",
          "        return score + rel_table[h % 4, torch.clamp(q_idx - kv_idx, -4, 4) + 4]",
          "",
          "    return score_mod",
          "",
        ].join("\n"),
      );
      const r = await run(["problems", "new", "learned_rel", "--score-mod", mod, "--data", table]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("captured tensors: rel_table float32 [4, 9]");
      expect(existsSync(join(home, "problems", "learned_rel", "rel_table.pt"))).toBe(true);
      const without = await run(["problems", "new", "learned_rel2", "--score-mod", mod]);
      expect(without.status).toBe(2);
      expect(without.stderr).toMatch(/learned_rel\.py:6: factory generate_learned_rel\(device='cpu'\) raised FileNotFoundError/);
    },
    SLOW,
  );

  it(
    "names the file, the line and the construct when a mod cannot be traced, and writes nothing",
    async () => {
      const fx = join(FIX, "branchy.py");
      const r = await run(["problems", "new", "branchy", "--score-mod", fx]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${fx}:5: the score_mod cannot be traced: Python control flow`);
      expect(r.stderr).toContain("(at `if q_idx > kv_idx:`)");
      expect(existsSync(join(home, "problems", "branchy"))).toBe(false);
      expect(readdirSync(join(home, "problems")).filter((n) => n.startsWith(".staging"))).toEqual([]);
    },
    SLOW,
  );

  it(
    "keeps a variant the offline template cannot compile, saying why (file, line, op); the model path still runs it",
    async () => {
      const fx = join(FIX, "erf_bias.py");
      const r = await run(["problems", "new", "erf_bias", "--score-mod", fx]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`offline template: no; the model path still works (${fx}:5: \`aten.erfinv.default\` has no counterpart`);
      const p = loadProblem("erf_bias");
      expect(p.spec.variant?.ir).toBeNull();
      expect(existsSync(join(p.dir, "mods.json"))).toBe(false);
      // the offline renderer says why it cannot, instead of looking for the suite's factories
      const render = spawnSync(torchPython(), [join(repoRoot(), "tools", "offline", "render.py"), "--problem", p.dir], { encoding: "utf8" });
      expect(render.status).toBe(2);
      expect(render.stderr).toContain(`the variant's mods have no kernel IR: ${fx}:5: \`aten.erfinv.default\``);
    },
    SLOW,
  );

  it("refuses suite names, folders inside the package, and unreadable shape lists", async () => {
    const fx = join(FIX, "window_only.py");
    const suite = await run(["problems", "new", "softcap", "--mask-mod", fx]);
    expect(suite.status).toBe(2);
    expect(suite.stderr).toContain('"softcap" is a problem of the built-in suite');
    const inside = await run(["problems", "new", "mine", "--mask-mod", fx, "--dir", problemsDir()]);
    expect(inside.stderr).toContain("is inside kforge's own problem suite");
    const shapes = await run(["problems", "new", "mine", "--mask-mod", fx, "--shapes", "8x32x16384"]);
    expect(shapes.stderr).toContain('--shapes: "8x32x16384" is not BxHxSxD');
    const huge = await run(["problems", "new", "mine", "--mask-mod", fx, "--shapes", "64x128x1048576x128"]);
    expect(huge.stderr).toContain("B*H*S*D must be at most 2147483648 elements per tensor");
  });
});

describe("bad problems get clear errors", () => {
  it("out-of-bounds atol, seeds and shapes in problem.json name the field and the fix", async () => {
    const dir = join(tmp, "loose");
    cpSync(join(repoRoot(), "test", "fixtures", "problems", "cpu_tiny"), dir, { recursive: true });
    const spec = JSON.parse(readFileSync(join(dir, "problem.json"), "utf8"));
    writeFileSync(
      join(dir, "problem.json"),
      JSON.stringify({ ...spec, name: "loose", atol: 1e30, seeds: 50, shapes: { ...spec.shapes, benchmark: [{ B: 1, H: 2, S: 64, D: 48 }] } }),
    );
    const r = await run(["verify", "--problem", dir, "--kernel", join(FIX, "graph_bias_kernel.py")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("atol: atol must be at most 0.1");
    expect(r.stderr).toContain("seeds: seeds must be at most 8");
    expect(r.stderr).toContain("shapes.benchmark.0.D: D must be one of 16, 32, 64, 128, 256");
  });

  it(
    "a reference that does not import is a ProblemError naming its file and line, not a harness failure",
    async () => {
      const dir = join(tmp, "broken_ref");
      cpSync(join(repoRoot(), "test", "fixtures", "problems", "cpu_tiny"), dir, { recursive: true });
      const spec = JSON.parse(readFileSync(join(dir, "problem.json"), "utf8"));
      writeFileSync(join(dir, "problem.json"), JSON.stringify({ ...spec, name: "broken_ref" }));
      writeFileSync(join(dir, "reference.py"), `${readFileSync(join(dir, "reference.py"), "utf8")}\nSCALE = undefined_name * 2\n`);
      const line =
        readFileSync(join(dir, "reference.py"), "utf8")
          .split("\n")
          .findIndex((l) => l.startsWith("SCALE =")) + 1;
      const kernel = join(repoRoot(), "test", "fixtures", "kernels", "cpu_tiny_good.py");
      const r = await run(["verify", "--problem", dir, "--kernel", existsSync(kernel) ? kernel : join(FIX, "graph_bias_kernel.py"), "--no-timing"]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `error (user): ${join(dir, "reference.py")}:${line}: importing it raised NameError: name 'undefined_name' is not defined`,
      );
      expect(r.stderr).not.toContain("the verifier harness failed");
    },
    SLOW,
  );
});
