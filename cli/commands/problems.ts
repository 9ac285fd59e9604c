/** `kforge problems [list | show NAME | new NAME --score-mod FILE [--mask-mod FILE]]`: the suite and the user's variants. */
import { UserError } from "../../core/errors.ts";
import { listProblemNames, loadProblem, problemsDir, userProblemsDir } from "../../problems/load.ts";
import type { LoadedProblem } from "../../problems/schema.ts";
import { describeInputs } from "../../problems/inputs-text.ts";
import { variantFiles } from "../variant-files.ts";
import { emit, type Command } from "../command.ts";

export const problemsCommand: Command = {
  name: "problems",
  summary: "list the problem suite and your variants, show one problem, or make a variant from your mod files",
  usage:
    "kforge problems [list]\n       kforge problems show NAME|kernelbench:FILE\n       kforge problems kernelbench PATH [--level N]\n" +
    "       kforge problems new NAME (--variant FILE[:NAME] | --score-mod FILE[:NAME] [--mask-mod FILE[:NAME]]) [--data FILE,...] [--shapes BxHxSxD,...] [--dtype bf16|fp16] [--description TEXT]",
  details: [
    "A variant file is ordinary FlexAttention code: module-level score_mod(score, b, h, q_idx, kv_idx) and/or",
    "mask_mod(b, h, q_idx, kv_idx), or a factory generate_*(B, H, S, D, device, seed, ...) returning them with the",
    "tensors they capture. --variant FILE takes both from one file (the kinds it defines); --score-mod and",
    "--mask-mod name a file for each (the same file may be given to both). FILE:NAME picks a",
    "function or factory by name. Variants are written to $KFORGE_HOME/problems/NAME and found by name by",
    "search, verify, trace and memory. The file runs only inside the sandboxed verifier harness.",
  ].join("\n"),
  options: {
    variant: {
      type: "string",
      valueName: "FILE",
      description: "variant file with the score_mod and/or mask_mod (or a factory returning them); FILE:NAME picks a factory (for `new`)",
    },
    "score-mod": {
      type: "string",
      valueName: "FILE",
      description: "variant file with the score_mod (or a factory returning it); FILE:NAME picks one (for `new`)",
    },
    "mask-mod": {
      type: "string",
      valueName: "FILE",
      description: "variant file with the mask_mod (or a factory returning it); FILE:NAME picks one (for `new`)",
    },
    data: {
      type: "string",
      valueName: "FILES",
      description: "comma-separated files the variant loads (next to its own file), copied with it (for `new`)",
    },
    shapes: {
      type: "string",
      valueName: "SHAPES",
      description:
        "benchmark shapes B x H[/Hkv] x S[:S_kv] x D, comma-separated; correctness shapes are derived (for `new`). " +
        "Default 4x16x4096x128,2x32x8192x64; with --device cpu small ones for the CPU lane, 1x2x64x16,1x2x128x32",
    },
    dtype: { type: "string", valueName: "DTYPE", description: "bf16 (default) or fp16 (for `new`)" },
    device: { type: "string", valueName: "DEVICE", description: "cuda (default) or cpu: a test problem verified on the CPU (for `new`)" },
    description: { type: "string", valueName: "TEXT", description: "one-line description (for `new`)" },
    dir: { type: "string", valueName: "DIR", description: "where `new` writes the problem folder (default: $KFORGE_HOME/problems)" },
    level: { type: "string", valueName: "N", description: "only this KernelBench level (for `kernelbench`)" },
  },
  async run(args, ctx) {
    const [sub = "list", name] = args.positionals;
    const str = (k: string) => (typeof args.values[k] === "string" ? (args.values[k] as string) : undefined);
    if (sub === "list") {
      const rows = listAll(ctx.config.home);
      emit(
        ctx,
        rows.map((r) =>
          r.problem
            ? {
                name: r.name,
                origin: r.origin,
                description: r.problem.spec.description,
                tags: r.problem.spec.tags,
                baseline: r.problem.spec.baseline,
                dir: r.problem.dir,
              }
            : { name: r.name, origin: r.origin, error: r.error },
        ),
        () => {
          const w = Math.max(...rows.map((r) => r.name.length));
          const line = (r: Row) =>
            r.problem
              ? `${r.name.padEnd(w)}  ${r.problem.spec.description}  [${r.problem.spec.tags.join(", ")}]`
              : `${r.name.padEnd(w)}  (broken: ${r.error})`;
          const user = rows.filter((r) => r.origin === "user");
          return [
            ...rows.filter((r) => r.origin === "suite").map(line),
            ...(user.length ? ["", `your variants (${userProblemsDir(ctx.config.home)}):`, ...user.map(line)] : []),
          ].join("\n");
        },
      );
      return 0;
    }
    if (sub === "kernelbench" || (sub === "show" && name?.startsWith("kernelbench:"))) {
      const { kernelBenchProblemsCommand } = await import("../../problems/kernelbench/cli.ts");
      return kernelBenchProblemsCommand(sub, name, str("level"), ctx);
    }
    if (sub === "show") {
      if (!name) throw new UserError("`kforge problems show` needs a problem name", { hint: "run `kforge problems` for the list" });
      const p = loadProblem(name, { suite: problemsDir(), user: userProblemsDir(ctx.config.home) });
      // what the IR analysis finds (tools/offline/analyze.py): only where the mods lowered to the kernel IR
      const lowered = p.spec.variant ? p.spec.variant.ir !== null : true;
      const structure = lowered ? (await import("../../problems/scaffold.ts")).analyzeStructure(ctx.config.python, p.dir) : [];
      emit(ctx, { ...p.spec, dir: p.dir, structure, reference: p.referenceSource, prompt: p.prompt }, () =>
        [
          `${p.spec.name}: ${p.spec.description}`,
          `dir: ${p.dir}`,
          `tags: ${p.spec.tags.join(", ")}   baseline: ${p.spec.baseline}   dtype: ${p.spec.dtype}`,
          `params: ${JSON.stringify(p.spec.params)}`,
          ...(p.spec.variant
            ? [
                `captured: ${p.spec.variant.captured.map((c) => `${c.name} ${c.dtype} [${c.dims.join(", ")}]`).join("; ") || "none"}`,
                `offline template: ${p.spec.variant.ir ? "the mods lowered to the kernel IR" : `not available (${p.spec.variant.irError ?? "no IR"})`}`,
              ]
            : []),
          `correctness shapes: ${p.spec.shapes.correctness.map(fmtShape).join("  ")}`,
          `benchmark shapes:   ${p.spec.shapes.benchmark.map(fmtShape).join("  ")}`,
          ...(structure.length ? ["structure (kforge's analysis of the mods):", ...structure.map((n) => `  - ${n}`)] : []),
          "",
          describeInputs(p),
          "",
          `--- ${p.referencePath}`,
          p.referenceSource.trimEnd(),
          "",
          "--- prompt.md",
          p.prompt.trimEnd(),
        ].join("\n"),
      );
      return 0;
    }
    if (sub === "new") {
      const { scaffoldProblem } = await import("../../problems/scaffold.ts");
      if (!name) throw new UserError("`kforge problems new` needs a NAME", { hint: "kforge problems new my_variant --score-mod my_mod.py" });
      const { scoreMod, maskMod } = variantFiles(args.values);
      if (!scoreMod && !maskMod) throw new UserError("`kforge problems new` needs --variant FILE, or --score-mod FILE and/or --mask-mod FILE");
      const dtype = str("dtype");
      if (dtype !== undefined && dtype !== "bf16" && dtype !== "fp16") throw new UserError(`--dtype ${dtype}: expected bf16 or fp16`);
      const device = str("device");
      if (device !== undefined && device !== "cuda" && device !== "cpu") throw new UserError(`--device ${device}: expected cuda or cpu`);
      const dir = await scaffoldProblem({
        name,
        scoreModPath: scoreMod,
        maskModPath: maskMod,
        description: str("description"),
        dir: str("dir"),
        dataPaths: str("data")
          ?.split(",")
          .map((s) => s.trim())
          .filter(Boolean),
        shapes: str("shapes"),
        dtype,
        device,
        config: ctx.config,
        signal: ctx.signal,
      });
      const p = loadProblem(dir);
      emit(
        ctx,
        { name, dir, captured: p.spec.variant?.captured ?? [], offline: p.spec.variant?.ir !== null, irError: p.spec.variant?.irError ?? null },
        () =>
          [
            `created ${dir}`,
            `  captured tensors: ${p.spec.variant?.captured.map((c) => `${c.name} ${c.dtype} [${c.dims.join(", ")}]`).join("; ") || "none"}`,
            p.spec.variant?.ir
              ? "  offline template: yes (the mods lowered to the kernel IR)"
              : `  offline template: no; the model path still works (${p.spec.variant?.irError ?? "no IR"})`,
            `  search it with: kforge search --problem ${name}`,
          ].join("\n"),
      );
      return 0;
    }
    throw new UserError(`unknown subcommand "problems ${sub}"`, { hint: "use list, show NAME, new NAME or kernelbench PATH" });
  },
};

interface Row {
  name: string;
  origin: "suite" | "user";
  problem?: LoadedProblem;
  error?: string;
}

/** The suite, then the user's variants; a broken variant is listed with its error instead of failing the list. */
function listAll(home: string): Row[] {
  const dirs = { suite: problemsDir(), user: userProblemsDir(home) };
  const suite = listProblemNames(dirs.suite);
  const rows: Row[] = suite.map((n) => ({ name: n, origin: "suite" as const, problem: loadProblem(n, dirs) }));
  for (const n of listProblemNames(dirs.user).filter((x) => !suite.includes(x))) {
    try {
      rows.push({ name: n, origin: "user", problem: loadProblem(n, dirs) });
    } catch (err) {
      rows.push({ name: n, origin: "user", error: (err as Error).message.split("\n").slice(0, 3).join(" ") });
    }
  }
  return rows;
}

function fmtShape(s: { B: number; H: number; Hkv?: number | undefined; S: number; Skv?: number | undefined; D: number }): string {
  return `${s.B}x${s.H}${s.Hkv && s.Hkv !== s.H ? `(kv ${s.Hkv})` : ""}x${s.S}${s.Skv && s.Skv !== s.S ? `:${s.Skv}` : ""}x${s.D}`;
}
