/** `kforge verify --problem NAME --kernel FILE`: the search's verifier on one hand-written or exported kernel. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "../../core/errors.ts";
import { loadProblem, problemsDir, userProblemsDir } from "../../problems/load.ts";
import { withShapes } from "../../problems/shapes.ts";
import { createVerifierPool } from "../../tools/verifier/pool.ts";
import { renderReport } from "../../tools/verifier/report.ts";
import { emit, type Command } from "../command.ts";

export const verifyCommand: Command = {
  name: "verify",
  summary: "check, police and time one kernel file against a problem",
  usage: "kforge verify --problem NAME|DIR --kernel FILE [--shapes BxHxSxD,...] [--no-timing] [--rebaseline]",
  details: [
    "Runs the same verifier as the search: correctness on every correctness shape and several seeds,",
    "the anti-cheat rules, and (unless --no-timing) the benchmark shapes against the problem's baselines.",
    "Baselines are measured once per GPU and torch version and cached under KFORGE_HOME/cache/.",
    "Exit code 0 only when the kernel is correct (status ok).",
    "",
    "examples:",
    "  kforge verify --problem softcap --kernel my_softcap.py",
    "  kforge verify --problem test/fixtures/problems/cpu_tiny --kernel k.py --no-timing --json",
    "  kforge verify --problem my_variant --kernel k.py --shapes 8x32x16384x128,2x16x1024:8192x64",
  ].join("\n"),
  options: {
    problem: {
      type: "string",
      valueName: "NAME",
      description: "a problem of the suite or one of your variants ($KFORGE_HOME/problems), or a path to a problem folder",
    },
    shapes: {
      type: "string",
      valueName: "SHAPES",
      description: "benchmark shapes B x H[/Hkv] x S[:S_kv] x D, comma-separated (correctness shapes are derived from them)",
    },
    kernel: { type: "string", valueName: "FILE", description: "the kernel module defining attention(q, k, v, *, scale, **params)" },
    "no-timing": { type: "boolean", description: "check correctness and the rules only; skip the benchmark shapes" },
    rebaseline: { type: "boolean", description: "measure the baselines again instead of using the cached ones" },
  },
  async run(args, ctx) {
    const name = args.values["problem"];
    const file = args.values["kernel"];
    if (typeof name !== "string" || typeof file !== "string") {
      throw new UserError("`kforge verify` needs --problem NAME and --kernel FILE", {
        hint: "kforge verify --problem softcap --kernel my_kernel.py",
      });
    }
    const shapes = args.values["shapes"];
    const problem = withShapes(
      loadProblem(name, { suite: problemsDir(), user: userProblemsDir(ctx.config.home) }),
      typeof shapes === "string" ? shapes : undefined,
    );
    const path = resolve(file);
    if (!existsSync(path)) throw new UserError(`kernel file ${path} does not exist`);
    const pool = createVerifierPool(ctx.config, {
      problem,
      warmSpares: false, // one candidate: a spare would only cost a second start-up
      baselineFile: join(ctx.config.home, "cache", "baselines.json"),
      freshBaselines: args.values["rebaseline"] === true,
    });
    try {
      const result = await pool.verify({
        problem,
        source: readFileSync(path, "utf8"),
        timing: args.values["no-timing"] !== true,
        signal: ctx.signal,
        candidateId: file,
      });
      emit(ctx, result, () => renderReport(result, `kforge verify: problem ${problem.spec.name}, kernel ${file}`));
      return result.status === "ok" ? 0 : 1;
    } finally {
      await pool.close();
    }
  },
};
