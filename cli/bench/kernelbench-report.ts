/**
 * The KernelBench bench's numbers: correct rate and fast_p against eager PyTorch and against torch.compile, with
 * KernelBench's definition of fast_p, and the per-problem table (text and JSON).
 */

/** One problem's outcome: its search run, whether it found a correct kernel, and that kernel's speedups. */
export interface BenchProblemResult {
  name: string;
  ref: string;
  runId: string | null;
  /** The search run's final status (done, failed, ...). */
  runStatus: string;
  correct: boolean;
  /** The best correct kernel's eager time over its own (null: no correct kernel). */
  speedupEager: number | null;
  /** The same kernel's torch.compile time over its own (null: no correct kernel, or torch.compile not timed). */
  speedupCompile: number | null;
  /** Why torch.compile was not timed for this problem, when it was not. */
  compileUnavailable: string | null;
  nodes: number;
  correctNodes: number;
  error: string | null;
}

/** The thresholds reported: fast_1 (faster at all) and fast_2 (twice as fast). */
export const FAST_P = [1, 2] as const;

export const FAST_P_DEFINITION =
  "fast_p = (number of problems whose best kernel is correct AND has speedup > p) / (number of problems in the bench), " +
  "speedup = baseline time / kernel time measured in the same process (KernelBench's definition); a problem with no correct " +
  "kernel, or whose search failed or was not run, counts in the denominator and never as fast. Against torch.compile, a problem whose " +
  "torch.compile baseline could not be timed never counts as fast either; compileMeasured says how many were timed.";

export interface BenchReport {
  bench: string;
  level: number | null;
  budgetPerProblem: string;
  problems: number;
  finished: number;
  correct: number;
  correctRate: number;
  fast: { eager: Record<string, number>; compile: Record<string, number> | null };
  compileMeasured: number;
  compileUnavailable: string | null;
  definition: string;
  rows: BenchProblemResult[];
}

/** The numbers over `rows` (every problem of the bench: unfinished ones count as not correct). */
export function benchReport(bench: string, level: number | null, budget: string, total: number, rows: BenchProblemResult[]): BenchReport {
  const n = Math.max(total, 1);
  const fast = (key: "speedupEager" | "speedupCompile") =>
    Object.fromEntries(FAST_P.map((p) => [`fast_${p}`, rows.filter((r) => r.correct && (r[key] ?? 0) > p).length / n]));
  const compileMeasured = rows.filter((r) => r.speedupCompile !== null).length;
  const reason = rows.find((r) => r.compileUnavailable)?.compileUnavailable ?? null;
  const correct = rows.filter((r) => r.correct).length;
  return {
    bench,
    level,
    budgetPerProblem: budget,
    problems: total,
    finished: rows.length,
    correct,
    correctRate: correct / n,
    fast: { eager: fast("speedupEager"), compile: compileMeasured > 0 ? fast("speedupCompile") : null },
    compileMeasured,
    compileUnavailable: compileMeasured < rows.filter((r) => r.correct).length ? reason : null,
    definition: FAST_P_DEFINITION,
    rows,
  };
}

/** A problem whose search was refused before its run existed ("refused" in its row) was not run. */
const statusWord = (x: BenchProblemResult) => (x.runStatus === "refused" ? "not run" : x.runStatus);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const times = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}x`);

/** The report as a person reads it. */
export function benchText(r: BenchReport): string {
  const w = Math.max(7, ...r.rows.map((x) => x.name.length));
  const head = `${"problem".padEnd(w)}  ${"correct".padEnd(7)}  ${"vs eager".padStart(8)}  ${"vs compile".padStart(10)}  ${"nodes".padStart(5)}  run`;
  const lines = r.rows.map(
    (x) =>
      `${x.name.padEnd(w)}  ${(x.correct ? "yes" : "no").padEnd(7)}  ${times(x.speedupEager).padStart(8)}  ${times(x.speedupCompile).padStart(10)}  ${`${x.correctNodes}/${x.nodes}`.padStart(5)}  ${x.runId ?? "-"}${x.error ? `  (${statusWord(x)}, see below)` : ""}`,
  );
  // Reasons in full under the table (a cut one hides what to fix): each problem's, every line of it.
  const reasons = r.rows.filter((x) => x.error).map((x) => `${x.name} (${statusWord(x)}): ${x.error!.trimEnd().split("\n").join("\n    ")}`);
  const n = r.problems;
  const fastLine = (name: string, f: Record<string, number> | null) =>
    f ? `${name}: ${FAST_P.map((p) => `fast_${p} ${pct(f[`fast_${p}`] ?? 0)}`).join("   ")}` : `${name}: not measured`;
  return [
    `bench ${r.bench}: KernelBench${r.level === null ? "" : ` level ${r.level}`}, ${n} problem${n === 1 ? "" : "s"}, ${r.budgetPerProblem} per problem${r.finished < n ? ` (${r.finished} finished)` : ""}`,
    "",
    head,
    ...lines,
    ...(reasons.length ? ["", ...reasons] : []),
    "",
    `correct ${r.correct}/${n} (${pct(r.correctRate)})`,
    fastLine("vs eager PyTorch", r.fast.eager),
    fastLine(`vs torch.compile (timed for ${r.compileMeasured} of ${r.correct} correct)`, r.fast.compile),
    ...(r.compileUnavailable ? [`  torch.compile: ${r.compileUnavailable}`] : []),
    "",
    r.definition,
  ].join("\n");
}
