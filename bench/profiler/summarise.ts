/**
 * Turns a folder written by gpu_profile_fixtures.py (index.json + raw CSVs + driver JSONs) into the
 * typed profile summaries and the rule-based advice: summary.json and summary.md beside them.
 *
 *   npx tsx bench/profiler/summarise.ts bench/results/profiler/<gpu>-<date>
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { adviseFromProfile } from "../../tools/profiler/advise.ts";
import { summariseProfile } from "../../tools/profiler/parse.ts";
import type { ProfileSummary } from "../../tools/profiler/types.ts";

const Run = z.object({
  tag: z.string(),
  kernel: z.string(),
  problem: z.string(),
  shape: z.object({ B: z.number(), H: z.number(), Hkv: z.number(), S: z.number(), D: z.number() }),
  status: z.string(),
  costMs: z.number(),
  csv: z.string().optional(),
});
const Index = z.object({ date: z.string(), gpu: z.string(), ncu: z.string(), command: z.string(), runs: z.array(Run) });

function section(run: z.infer<typeof Run>, s: ProfileSummary | null, dir: string): string {
  const shape = `B,H,Hkv,S,D = ${run.shape.B},${run.shape.H},${run.shape.Hkv},${run.shape.S},${run.shape.D}`;
  const head = `## ${run.tag}: ${run.kernel}, ${shape} (ncu run ${(run.costMs / 1000).toFixed(1)} s)`;
  if (!s) {
    const console = existsSync(join(dir, `${run.tag}.stdout`))
      ? readFileSync(join(dir, `${run.tag}.stdout`), "utf8")
          .trim()
          .split("\n")
          .slice(-5)
          .join("\n")
      : "";
    return `${head}\n\nstatus: ${run.status}\n\n\`\`\`\n${console}\n\`\`\`\n`;
  }
  const c = s.compile;
  return [
    head,
    "",
    `**${s.bound.toUpperCase()} bound**, kernel \`${s.kernel}\`, ${s.durationUs?.toFixed(1)} us under ncu.`,
    "",
    ...s.evidence.map((e) => `- ${e}`),
    c
      ? `- compile (Triton): ${c.registers} registers, ${c.spills} spills, ${c.sharedBytes} B shared, ${c.numWarps} warps, ${c.numStages} stages`
      : "",
    "",
    "Advice (tools/profiler/advise.ts):",
    "",
    ...adviseFromProfile(s).map((a, i) => `${i + 1}. [${a.expectedGain}] **${a.issue}**: ${a.evidence}. ${a.suggestion}`),
    "",
  ].join("\n");
}

function main(dir: string): void {
  const index = Index.parse(JSON.parse(readFileSync(join(dir, "index.json"), "utf8")));
  const results = index.runs.map((run) => {
    if (!run.csv) return { run, summary: null };
    const driver = JSON.parse(readFileSync(join(dir, `${run.tag}.driver.json`), "utf8"));
    return { run, summary: summariseProfile(readFileSync(join(dir, run.csv), "utf8"), { shape: run.shape, compile: driver.compile ?? [] }) };
  });
  writeFileSync(
    join(dir, "summary.json"),
    JSON.stringify(
      results.map((r) => ({ ...r, advice: r.summary ? adviseFromProfile(r.summary) : [] })),
      null,
      1,
    ),
  );
  const md = [
    `# Nsight Compute profiles of the fixture kernels`,
    "",
    `${index.gpu}, ${index.ncu}, ${index.date}. Command: \`OUT=<dir> ${index.command}\`, then \`npx tsx bench/profiler/summarise.ts <dir>\`.`,
    "",
    ...results.map((r) => section(r.run, r.summary, dir)),
  ].join("\n");
  writeFileSync(join(dir, "summary.md"), md);
  process.stdout.write(md);
}

main(process.argv[2] ?? ".gpu/profiler");
