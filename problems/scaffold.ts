/**
 * `kforge problems new` (and `search --score-mod`): a user's FlexAttention variant file(s) become a problem folder
 * under KFORGE_HOME/problems. The files are user code: they are copied, then imported only inside the sandboxed
 * verifier harness (an `inspect_variant` job), which finds the mods, names the tensors they capture and lowers them
 * to the kernel IR with make_fx. Nothing of the user's runs in this process.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, join, relative, resolve } from "node:path";
import { z } from "zod";
import { loadConfig, repoRoot, type Config } from "../core/config.ts";
import { ProblemError, ToolError, UserError } from "../core/errors.ts";
import { createVerifierPool } from "../tools/verifier/pool.ts";
import { loadProblem, problemsDir, userProblemsDir } from "./load.ts";
import { AttentionProblemSpec, CapturedTensor, ModSource, type AttentionShape, type Tag } from "./schema.ts";
import { formatProblemJson, renderPrompt, renderReference } from "./scaffold-render.ts";
import { deriveCorrectness, parseShapes } from "./shapes.ts";

/** Seconds a variant file gets to import, build its mods at every correctness shape and be traced. */
export const INSPECT_LIMIT_S = 120;

/** The default suite shapes: odd lengths and both head dims for correctness, the two benchmark shapes. */
export const DEFAULT_SHAPES: { correctness: AttentionShape[]; benchmark: AttentionShape[] } = {
  correctness: [
    { B: 1, H: 1, S: 1, D: 64 },
    { B: 2, H: 3, S: 17, D: 64 },
    { B: 1, H: 4, S: 77, D: 128 },
    { B: 2, H: 2, S: 257, D: 64 },
    { B: 1, H: 2, S: 128, D: 128 },
  ],
  benchmark: [
    { B: 4, H: 16, S: 4096, D: 128 },
    { B: 2, H: 32, S: 8192, D: 64 },
  ],
};

/**
 * The defaults of a CPU test problem (`--device cpu`): the CPU lane verifies and times in plain PyTorch, where the
 * GPU shapes above would take hours; these are the scale of test/fixtures/problems/cpu_tiny (odd lengths, D 16 and 32).
 */
export const DEFAULT_CPU_SHAPES: { correctness: AttentionShape[]; benchmark: AttentionShape[] } = {
  correctness: [
    { B: 1, H: 1, S: 1, D: 16 },
    { B: 2, H: 3, S: 17, D: 16 },
    { B: 1, H: 4, S: 37, D: 32 },
    { B: 2, H: 2, S: 65, D: 16 },
    { B: 1, H: 2, S: 128, D: 32 },
  ],
  benchmark: [
    { B: 1, H: 2, S: 64, D: 16 },
    { B: 1, H: 2, S: 128, D: 32 },
  ],
};

/** The default shapes of a new problem on `device` (when --shapes is not given). */
export function defaultShapes(device: "cuda" | "cpu" | undefined): { correctness: AttentionShape[]; benchmark: AttentionShape[] } {
  return device === "cpu" ? DEFAULT_CPU_SHAPES : DEFAULT_SHAPES;
}

/** What the harness reports about the variant (kforge_harness/inspect_variant.py). */
const Inspection = z.object({
  status: z.literal("variant"),
  errors: z.array(z.object({ file: z.string().nullable(), line: z.number().nullable(), message: z.string() })),
  variant: z
    .object({ score: ModSource.nullable(), mask: ModSource.nullable(), captured: z.array(CapturedTensor) })
    .loose()
    .nullable(),
  notes: z.array(z.string()),
  features: z.array(z.string()),
  ir: z.record(z.string(), z.unknown()).nullable(),
  irError: z.string().optional(),
});
export type Inspection = z.infer<typeof Inspection>;

export interface ScaffoldOptions {
  name: string;
  /** "FILE.py" or "FILE.py:NAME" (NAME: the mod, or the factory returning it). */
  scoreModPath?: string | undefined;
  maskModPath?: string | undefined;
  description?: string | undefined;
  /** Parent folder of the new problem folder (default: KFORGE_HOME/problems; never the package's problems/). */
  dir?: string | undefined;
  /** Files the variant loads (relative to its own file): copied beside it. */
  dataPaths?: string[] | undefined;
  /** --shapes: the benchmark shapes (correctness shapes are derived from them); default defaultShapes(device). */
  shapes?: string | undefined;
  dtype?: "bf16" | "fp16" | undefined;
  /** "cpu": a test problem verified on the CPU (torch math allowed); default cuda. */
  device?: "cuda" | "cpu" | undefined;
  /** Interpreter for the harness (overrides config.python). */
  python?: string | undefined;
  config?: Config | undefined;
  signal?: AbortSignal | undefined;
}

/** Validates the user's variant in the sandboxed harness and writes its problem folder; returns the folder. */
export async function scaffoldProblem(opts: ScaffoldOptions): Promise<string> {
  const config = { ...(opts.config ?? loadConfig()), ...(opts.python ? { python: opts.python } : {}) };
  const nameCheck = AttentionProblemSpec.shape.name.safeParse(opts.name);
  if (!nameCheck.success) throw new UserError(`problem name "${opts.name}": use lower-case letters, digits and _ (starting with a letter)`);
  if (existsSync(join(problemsDir(), opts.name, "problem.json"))) {
    throw new UserError(`"${opts.name}" is a problem of the built-in suite`, { hint: "choose another name for your variant" });
  }
  const mods = (["score", "mask"] as const).flatMap((kind) => {
    const given = kind === "score" ? opts.scoreModPath : opts.maskModPath;
    return given ? [{ kind, ...splitSymbol(given, kind) }] : [];
  });
  if (mods.length === 0) throw new UserError("a new problem needs a score_mod file, a mask_mod file, or both");
  const parent = resolve(opts.dir ?? userProblemsDir(config.home));
  if (isInside(parent, problemsDir())) {
    throw new UserError(`${parent} is inside kforge's own problem suite; variants live in ${userProblemsDir(config.home)}`, {
      hint: "leave out --dir",
    });
  }
  const folder = join(parent, opts.name);
  if (existsSync(folder)) throw new UserError(`${folder} already exists`, { hint: "choose another name or remove that folder" });
  const shapes = opts.shapes ? { benchmark: parseShapes(opts.shapes), correctness: [] as AttentionShape[] } : defaultShapes(opts.device);
  if (opts.shapes) shapes.correctness = deriveCorrectness(shapes.benchmark);

  const staging = join(parent, `.staging-${opts.name}-${randomBytes(4).toString("hex")}`);
  mkdirSync(staging, { recursive: true });
  try {
    const copies = copyInputs(
      staging,
      mods.map((m) => m.path),
      opts.dataPaths ?? [],
    );
    const rename = (text: string) => copies.reduce((t, c) => t.split(join(staging, c.name)).join(c.from), text);
    const variantDraft = {
      files: [...new Set(copies.map((c) => c.name))],
      score: draftSource(mods, "score"),
      mask: draftSource(mods, "mask"),
    };
    const draft = { name: opts.name, kind: "attention", shapes, dtype: opts.dtype ?? "bf16", variant: variantDraft };
    const inspection = await inspect(config, staging, draft, opts.signal);
    if (inspection.errors.length > 0 || !inspection.variant) {
      const lines = inspection.errors.map((e) => `  ${rename(e.file ?? "?")}${e.line ? `:${e.line}` : ""}: ${rename(e.message)}`);
      throw new ProblemError(
        `cannot make "${opts.name}": the variant file${mods.length > 1 ? "s" : ""} need${mods.length > 1 ? "" : "s"} fixing\n${lines.join("\n")}`,
        {
          hint: "a variant defines score_mod(score, b, h, q_idx, kv_idx) / mask_mod(b, h, q_idx, kv_idx), or a factory generate_*(...) returning them",
          context: { issues: lines },
        },
      );
    }
    const v = inspection.variant;
    const irError = inspection.irError ? rename(inspection.irError) : undefined;
    if (inspection.ir) writeFileSync(join(staging, "mods.json"), `${JSON.stringify(inspection.ir, null, 1)}\n`);
    const description = opts.description ?? `user variant from ${[...new Set(mods.map((m) => basename(m.path)))].join(" and ")}`;
    const raw = {
      name: opts.name,
      description,
      kind: "attention" as const,
      params: {},
      shapes,
      dtype: opts.dtype ?? ("bf16" as const),
      baseline: "flex" as const,
      tags: inferTags(inspection.features, v.mask !== null),
      atol: 0.001,
      seeds: 2,
      variant: {
        files: variantDraft.files,
        score: v.score,
        mask: v.mask,
        captured: v.captured,
        ir: inspection.ir ? "mods.json" : null,
        ...(irError ? { irError } : {}),
      },
      ...(opts.device === "cpu" ? { device: "cpu" as const } : {}),
    };
    const spec = AttentionProblemSpec.parse(raw);
    writeFileSync(join(staging, "problem.json"), formatProblemJson(raw));
    writeFileSync(join(staging, "reference.py"), renderReference({ description, spec }));
    const structure = inspection.ir ? analyzeStructure(config.python, staging) : [];
    writeFileSync(join(staging, "prompt.md"), renderPrompt({ spec, folder: staging, notes: inspection.notes, structure }));
    renameSync(staging, folder);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  loadProblem(folder); // our own output must load; a failure here is a bug in this file
  return folder;
}

/** Seconds tools/offline/analyze.py gets (pure IR analysis: well under one). */
const ANALYZE_LIMIT_MS = 30_000;

/**
 * The structure kforge's IR analysis finds in a lowered variant (tools/offline/analyze.py on the folder's mods.json:
 * clipped offsets, bounded / data-dependent / 2-D masks, density), for the prompt and `problems show`. It reads only
 * the IR (data, not the user's code), so it runs here; a failure leaves the notes out and says so on stderr.
 */
export function analyzeStructure(python: string, folder: string): string[] {
  const script = join(repoRoot(), "tools", "offline", "analyze.py");
  const r = spawnSync(python, [script, "--problem", folder], { encoding: "utf8", timeout: ANALYZE_LIMIT_MS });
  try {
    if (r.status !== 0) throw new Error((r.stderr || r.error?.message || `exit ${r.status}`).trim());
    return z.array(z.string()).parse(JSON.parse(r.stdout));
  } catch (err) {
    process.stderr.write(
      `warning: kforge's structure analysis of the mods failed (going on without it): ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return [];
  }
}

/** "path.py:name" -> path and symbol (a Windows-free world: a colon after ".py" names the symbol). */
function splitSymbol(given: string, kind: string): { path: string; symbol: string | null } {
  const m = /^(.*\.py):([A-Za-z_][A-Za-z0-9_]*)$/.exec(given);
  const path = resolve(m ? m[1]! : given);
  if (!existsSync(path)) throw new UserError(`${path}: no such file (given as the ${kind}_mod file)`);
  if (!path.endsWith(".py")) throw new UserError(`${path}: a variant is a Python file (.py)`);
  return { path, symbol: m ? m[2]! : null };
}

function draftSource(mods: { kind: string; path: string; symbol: string | null }[], kind: string) {
  const m = mods.find((x) => x.kind === kind);
  return m ? { file: basename(m.path), symbol: m.symbol } : null;
}

/** Copies the variant files and data files into the staging folder, by base name (clashes are an error). */
function copyInputs(staging: string, variants: string[], data: string[]): { name: string; from: string }[] {
  const out: { name: string; from: string }[] = [];
  for (const from of [...new Set([...variants, ...data.map((d) => resolve(d))])]) {
    if (!existsSync(from)) throw new UserError(`${from}: no such file (given with --data)`);
    const name = basename(from);
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || ["problem.json", "reference.py", "prompt.md", "mods.json"].includes(name)) {
      throw new UserError(`${from}: rename it (its name "${name}" is reserved or has characters kforge does not copy)`);
    }
    if (out.some((c) => c.name === name)) throw new UserError(`two files named ${name}: rename one of them`);
    copyFileSync(from, join(staging, name));
    out.push({ name, from });
  }
  return out;
}

/** Runs the inspect_variant job in the sandboxed harness; what went wrong there becomes a clear error. */
async function inspect(config: Config, folder: string, draft: Record<string, unknown>, signal?: AbortSignal): Promise<Inspection> {
  const pool = createVerifierPool(config, { warmSpares: false });
  try {
    const o = await pool.inspectVariant(folder, draft, INSPECT_LIMIT_S, signal);
    if (o.kind === "timeout") {
      throw new ProblemError(
        `the variant did not finish within ${INSPECT_LIMIT_S} s (importing it, calling its factory at the correctness shapes, tracing its mods)`,
        {
          hint: "does it loop forever, or build very large tensors at import time?",
        },
      );
    }
    if (o.kind === "died")
      throw new ProblemError(`the variant's process ended while it was inspected (${o.signal ?? `exit code ${o.code}`})\n${o.log.slice(-1500)}`);
    if (o.kind !== "result") throw new ToolError(`inspecting the variant failed: ${o.kind === "harness_error" ? o.message.slice(0, 2000) : o.kind}`);
    const parsed = Inspection.safeParse(o.result);
    if (!parsed.success)
      throw new ToolError(
        `the harness sent an unexpected variant report: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  } finally {
    await pool.close();
  }
}

/** Maps the IR's structural features to the suite's tags (memory relates variants by them). */
export function inferTags(features: string[], hasMask: boolean): Tag[] {
  const f = new Set(features);
  const tags: Tag[] = [];
  if (f.has("tanh")) tags.push("softcap");
  if (f.has("bias")) tags.push("bias");
  if (f.has("relative_bias")) tags.push("relpos");
  if (f.has("causal_compare")) tags.push("causal");
  if (hasMask) tags.push("mask");
  if (f.has("distance_compare")) tags.push("windowed");
  if (f.has("kv_bound")) tags.push("prefix");
  if (f.has("documents")) tags.push("document");
  if (f.has("grid")) tags.push("2d");
  if (tags.length === 0) tags.push("full");
  return tags;
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}
