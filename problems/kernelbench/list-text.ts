/** `kforge problems kernelbench PATH [--level N]` and `kforge problems show kernelbench:PATH`: what they print. */
import type { LoadedKernelBenchProblem } from "../schema.ts";
import type { KernelBenchEntry } from "./list.ts";

/** The rows of the listing as JSON (--json). */
export function listingJson(entries: KernelBenchEntry[]): unknown[] {
  return entries.map((e) =>
    e.problem
      ? {
          name: e.problem.spec.name,
          level: e.level,
          families: e.problem.spec.families,
          description: e.problem.spec.description,
          problem: `kernelbench:${e.path}`,
        }
      : { path: e.path, level: e.level, error: e.error },
  );
}

/** The listing as text: one line per file, then how to search one. */
export function listingText(entries: KernelBenchEntry[]): string {
  const ok = entries.filter((e) => e.problem);
  const w = Math.max(4, ...ok.map((e) => e.problem?.spec.name.length ?? 0));
  const lines = entries.map((e) =>
    e.problem ? `${e.problem.spec.name.padEnd(w)}  [${e.problem.spec.families.join(", ")}]  ${e.path}` : `${"(skipped)".padEnd(w)}  ${e.error}`,
  );
  const first = ok[0];
  return [
    ...lines,
    "",
    `${ok.length} problem${ok.length === 1 ? "" : "s"}${entries.length > ok.length ? `, ${entries.length - ok.length} file(s) skipped` : ""}`,
    ...(first ? [`search one with: kforge search --problem kernelbench:${first.path} --budget 15m`] : []),
  ].join("\n");
}

/** `problems show` of a KernelBench problem: the spec, the file and the prompt. */
export function showText(p: LoadedKernelBenchProblem): string {
  return [
    `${p.spec.name}: ${p.spec.description}`,
    `file: ${p.spec.file}`,
    `level: ${p.spec.level ?? "-"}   families: ${p.spec.families.join(", ")}   device: ${p.spec.device}`,
    `input distributions: ${p.spec.distributions.join(", ")}   seeds: ${p.spec.seeds}`,
    `tolerances: KernelBench atol ${p.spec.kbTolerance.atol} rtol ${p.spec.kbTolerance.rtol}; kforge ${p.spec.relTolerance} x rms(golden) over 2x the reference's own error`,
    "",
    `--- ${p.referencePath}`,
    p.referenceSource.trimEnd(),
    "",
    "--- prompt",
    p.prompt.trimEnd(),
  ].join("\n");
}
