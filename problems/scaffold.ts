/**
 * `kforge problems new`: turns a user's FlexAttention-style score_mod/mask_mod file(s) into a problem
 * folder. The files are only parsed (Python's `ast`, in a subprocess), never executed here.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError, ProblemError, ToolError, UserError } from "../core/errors.ts";
import { loadProblem, problemsDir } from "./load.ts";
import { AttentionProblemSpec, ParamValue, type Tag } from "./schema.ts";
import { formatProblemJson, renderPrompt, renderReference } from "./scaffold-render.ts";

/** What the Python inspector reports about the mod files (problems/_common/inspect_mods.py). */
const InspectedMod = z.object({ file: z.string(), name: z.string(), source: z.string(), docstring: z.string().nullable() });
const Inspection = z.object({
  errors: z.array(z.object({ file: z.string(), line: z.number().nullable(), message: z.string() })),
  mods: z.object({ score: InspectedMod.optional(), mask: InspectedMod.optional() }),
  params: z.record(z.string(), ParamValue),
  features: z.array(z.string()),
});
export type Inspection = z.infer<typeof Inspection>;

/** The default suite shapes: odd lengths and both head dims for correctness, the two benchmark shapes. */
export const DEFAULT_SHAPES = {
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

export interface ScaffoldOptions {
  name: string;
  scoreModPath?: string | undefined;
  maskModPath?: string | undefined;
  description?: string | undefined;
  /** Parent folder of the new problem folder (default: the suite's problems/). */
  dir?: string | undefined;
  /** Interpreter used to parse the files (any Python >= 3.8; torch not needed). */
  python: string;
}

/** Validates the user's mods, writes problems/<name>/{problem.json,reference.py,prompt.md}; returns the folder. */
export async function scaffoldProblem(opts: ScaffoldOptions): Promise<string> {
  const nameCheck = AttentionProblemSpec.shape.name.safeParse(opts.name);
  if (!nameCheck.success) throw new UserError(`problem name "${opts.name}": use lower-case letters, digits and _ (starting with a letter)`);
  const files: { path: string; kind: "score" | "mask" }[] = [];
  if (opts.scoreModPath) files.push({ path: resolve(opts.scoreModPath), kind: "score" });
  if (opts.maskModPath) files.push({ path: resolve(opts.maskModPath), kind: "mask" });
  if (files.length === 0) throw new UserError("a new problem needs a score_mod file, a mask_mod file, or both");
  for (const f of files) {
    if (!existsSync(f.path)) throw new UserError(`${f.path}: no such file (given as the ${f.kind}_mod file)`);
  }
  const folder = join(resolve(opts.dir ?? problemsDir()), opts.name);
  if (existsSync(folder)) throw new UserError(`${folder} already exists`, { hint: "choose another name or remove that folder" });

  const inspection = await inspectMods(opts.python, files);
  if (inspection.errors.length > 0) {
    const lines = inspection.errors.map((e) => `  ${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}`);
    throw new ProblemError(`cannot scaffold "${opts.name}": the mod file${files.length > 1 ? "s" : ""} need${files.length > 1 ? "" : "s"} fixing\n${lines.join("\n")}`, {
      hint: "mods must be plain defs using arithmetic, comparisons, & | ~, torch.where/tanh/exp/log/abs/minimum/maximum, module-level numbers and generator tensors",
      context: { errors: inspection.errors },
    });
  }
  const tags = inferTags(inspection);
  const sources = [...new Set(files.map((f) => basename(f.path)))];
  const description = opts.description ?? firstLine(inspection.mods.score?.docstring ?? inspection.mods.mask?.docstring) ?? `custom attention variant from ${sources.join(" and ")}`;
  // Written as given (schema defaults such as `device` stay implicit), after checking it parses.
  const raw = { name: opts.name, description, kind: "attention" as const, params: inspection.params, shapes: DEFAULT_SHAPES, dtype: "bf16" as const, baseline: "flex" as const, tags, atol: 0.001, seeds: 2 };
  const spec = AttentionProblemSpec.parse(raw);
  const evaluator = readFileSync(join(problemsDir(), "_common", "flex_eval.py"), "utf8");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "problem.json"), formatProblemJson(raw));
  writeFileSync(join(folder, "reference.py"), renderReference({ description, inspection, sources, evaluator }));
  writeFileSync(join(folder, "prompt.md"), renderPrompt({ spec, inspection }));
  loadProblem(folder); // our own output must load; a failure here is a bug in this file
  return folder;
}

/** Maps the inspector's structural features to the suite's tags (memory relates variants by them). */
export function inferTags(inspection: Inspection): Tag[] {
  const f = new Set(inspection.features);
  const hasMask = inspection.mods.mask !== undefined;
  const tags: Tag[] = [];
  if (f.has("tanh")) tags.push("softcap");
  if (f.has("bias")) tags.push("bias");
  if (f.has("alibi")) tags.push("alibi");
  else if (f.has("relative_bias")) tags.push("relpos");
  if (f.has("causal_compare")) tags.push("causal");
  if (hasMask) tags.push("mask");
  if (f.has("distance_compare")) tags.push("windowed");
  if (f.has("kv_bound")) tags.push("prefix");
  if (f.has("documents") || f.has("equal_compare")) tags.push("document");
  if (f.has("grid")) tags.push("2d");
  if (tags.length === 0) tags.push("full");
  return tags;
}

/** Runs problems/_common/inspect_mods.py with `python`; it parses the files and never imports them. */
export async function inspectMods(python: string, files: { path: string; kind: "score" | "mask" }[]): Promise<Inspection> {
  const script = join(problemsDir(), "_common", "inspect_mods.py");
  const stdout = await new Promise<string>((done, fail) => {
    const child = execFile(python, ["-I", script], { timeout: 30_000, maxBuffer: 8 << 20 }, (err, out, errOut) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        fail(new ConfigError(`Python interpreter "${python}" not found`, { hint: "set KFORGE_PYTHON to a python3 binary" }));
      } else if (err) {
        fail(new ToolError(`the mod inspector failed: ${errOut.trim() || err.message}`, { cause: err }));
      } else done(out);
    });
    child.stdin?.end(JSON.stringify({ files }));
  });
  const parsed = Inspection.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new ToolError(`the mod inspector printed an unexpected report: ${parsed.error.message}`);
  return parsed.data;
}

function firstLine(text: string | null | undefined): string | undefined {
  const line = text?.trim().split("\n")[0]?.trim();
  return line ? line : undefined;
}
