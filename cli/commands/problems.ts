/** `kforge problems [list | show NAME | new NAME --score-mod FILE [--mask-mod FILE]]`. */
import { UserError } from "../../core/errors.ts";
import { loadAllProblems, loadProblem } from "../../problems/load.ts";
import { emit, type Command } from "../command.ts";

export const problemsCommand: Command = {
  name: "problems",
  summary: "list the problem suite, show one problem, or scaffold a new one",
  usage: "kforge problems [list]\n       kforge problems show NAME\n       kforge problems new NAME --score-mod FILE [--mask-mod FILE] [--description TEXT]",
  options: {
    "score-mod": { type: "string", valueName: "FILE", description: "Python file defining score_mod(score, b, h, q_idx, kv_idx) (for `new`)" },
    "mask-mod": { type: "string", valueName: "FILE", description: "Python file defining mask_mod(b, h, q_idx, kv_idx) (for `new`)" },
    description: { type: "string", valueName: "TEXT", description: "one-line description (for `new`)" },
    dir: { type: "string", valueName: "DIR", description: "where `new` writes the problem folder (default: the suite's problems/)" },
  },
  async run(args, ctx) {
    const [sub = "list", name] = args.positionals;
    if (sub === "list") {
      const problems = loadAllProblems();
      emit(
        ctx,
        problems.map((p) => ({ name: p.spec.name, description: p.spec.description, tags: p.spec.tags, baseline: p.spec.baseline })),
        () => {
          const w = Math.max(...problems.map((p) => p.spec.name.length));
          return problems.map((p) => `${p.spec.name.padEnd(w)}  ${p.spec.description}  [${p.spec.tags.join(", ")}]`).join("\n");
        },
      );
      return 0;
    }
    if (sub === "show") {
      if (!name) throw new UserError("`kforge problems show` needs a problem name", { hint: "run `kforge problems` for the list" });
      const p = loadProblem(name);
      emit(ctx, { ...p.spec, dir: p.dir, reference: p.referenceSource, prompt: p.prompt }, () =>
        [
          `${p.spec.name}: ${p.spec.description}`,
          `tags: ${p.spec.tags.join(", ")}   baseline: ${p.spec.baseline}   dtype: ${p.spec.dtype}`,
          `params: ${JSON.stringify(p.spec.params)}`,
          `correctness shapes: ${p.spec.shapes.correctness.map(fmtShape).join("  ")}`,
          `benchmark shapes:   ${p.spec.shapes.benchmark.map(fmtShape).join("  ")}`,
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
      const scoreMod = args.values["score-mod"];
      const maskMod = args.values["mask-mod"];
      if (typeof scoreMod !== "string" && typeof maskMod !== "string") {
        throw new UserError("`kforge problems new` needs --score-mod FILE and/or --mask-mod FILE");
      }
      const dir = await scaffoldProblem({
        name,
        scoreModPath: typeof scoreMod === "string" ? scoreMod : undefined,
        maskModPath: typeof maskMod === "string" ? maskMod : undefined,
        description: typeof args.values["description"] === "string" ? args.values["description"] : undefined,
        dir: typeof args.values["dir"] === "string" ? args.values["dir"] : undefined,
        python: ctx.config.python,
      });
      emit(ctx, { name, dir }, () => `created ${dir}\n  check it with: kforge problems show ${dir}`);
      return 0;
    }
    throw new UserError(`unknown subcommand "problems ${sub}"`, { hint: "use list, show NAME or new NAME" });
  },
};

function fmtShape(s: { B: number; H: number; Hkv?: number | undefined; S: number; D: number }): string {
  return `${s.B}x${s.H}${s.Hkv && s.Hkv !== s.H ? `(kv ${s.Hkv})` : ""}x${s.S}x${s.D}`;
}
