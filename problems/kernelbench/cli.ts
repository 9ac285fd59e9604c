/** The KernelBench branch of `kforge problems`: list a checkout, show one file as kforge sees it. */
import { UserError } from "../../core/errors.ts";
import { emit, type CommandContext } from "../../cli/command.ts";
import { listKernelBench } from "./list.ts";
import { listingJson, listingText, showText } from "./list-text.ts";
import { loadKernelBenchProblem } from "./load.ts";

/** `problems kernelbench PATH [--level N]` or `problems show kernelbench:FILE`; returns the exit code. */
export async function kernelBenchProblemsCommand(
  sub: string,
  arg: string | undefined,
  levelText: string | undefined,
  ctx: CommandContext,
): Promise<number> {
  if (sub === "show") {
    const p = loadKernelBenchProblem(arg ?? "");
    emit(ctx, { ...p.spec, reference: p.referenceSource, prompt: p.prompt }, () => showText(p));
    return 0;
  }
  if (!arg)
    throw new UserError("`kforge problems kernelbench` needs the path of your KernelBench checkout", {
      hint: "kforge problems kernelbench ~/KernelBench --level 1",
    });
  const level = levelText === undefined ? undefined : Number(levelText);
  if (level !== undefined && !(Number.isInteger(level) && level > 0)) throw new UserError(`--level ${levelText}: expected a level number such as 1`);
  const entries = listKernelBench(arg, level);
  emit(ctx, listingJson(entries), () => listingText(entries));
  return 0;
}
