/**
 * The portable file of wins a team shares (`kforge memory export/import`): JSON with a format name
 * and version. Import trusts nothing: every entry is validated with zod, its kernel checked against
 * its sha256, and duplicates (in memory or in the file) skipped, each with the reason.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { UserError } from "../core/errors.ts";
import { WinInput } from "./win-schema.ts";
import { kernelHash, type WinsStore } from "./wins.ts";

export const WINS_FILE_FORMAT = "kforge-wins";
/** The newest format this code writes and reads. Bump it (and keep reading older ones) when the entry shape changes. */
export const WINS_FILE_VERSION = 1;

/** One win in the file: the WinInput fields, with the kernel and provenance grouped. */
export const ExportedWin = WinInput.omit({ kernelSource: true, runId: true, nodeId: true, createdAt: true })
  .extend({
    kernel: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits"), source: WinInput.shape.kernelSource }).strict(),
    provenance: z.object({ runId: z.string().max(200).nullable(), nodeId: z.string().max(200).nullable() }).strict(),
    createdAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type ExportedWin = z.infer<typeof ExportedWin>;

const WinsFile = z
  .object({
    format: z.literal(WINS_FILE_FORMAT),
    version: z.number().int().positive(),
    exportedAt: z.iso.datetime({ offset: true }),
    // Entries are validated one by one, so one bad entry is skipped rather than failing the file.
    wins: z.array(z.unknown()),
  })
  .strict();
export type WinsFile = { format: typeof WINS_FILE_FORMAT; version: number; exportedAt: string; wins: ExportedWin[] };

/** What an import did: the wins it stored, and each entry it skipped with the reason. */
export interface ImportReport {
  imported: Array<{ index: number; id: number; problem: string }>;
  skipped: Array<{ index: number; problem: string | null; reason: string }>;
}

/** The wins of memory (of one problem, if given) as a portable file. */
export function exportWins(store: WinsStore, opts: { problem?: string | undefined } = {}): WinsFile {
  return {
    format: WINS_FILE_FORMAT,
    version: WINS_FILE_VERSION,
    exportedAt: new Date().toISOString(),
    wins: store.all(opts).map((w) => ({
      problem: w.problem,
      description: w.description,
      scoreMod: w.scoreMod,
      maskMod: w.maskMod,
      tags: w.tags,
      params: w.params,
      kernel: { sha256: w.kernelHash, source: w.kernelSource },
      speedup: w.speedup,
      tflops: w.tflops,
      shapes: w.shapes,
      gpu: w.gpu,
      ideas: w.ideas,
      provenance: { runId: w.runId, nodeId: w.nodeId },
      createdAt: w.createdAt,
    })),
  };
}

/** Writes a portable file (pretty JSON, so diffs and reviews work). */
export function writeWinsFile(path: string, file: WinsFile): void {
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}

/** Reads and parses a file as JSON; a missing or malformed file is the user's to fix. */
export function readWinsFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not JSON: ${(err as Error).message}`, { hint: "pass a file written by `kforge memory export`", cause: err });
  }
}

/** Validates a parsed file and stores its valid, new wins in one transaction. A wrong format or version fails the whole file. */
export function importWins(store: WinsStore, raw: unknown): ImportReport {
  const file = WinsFile.safeParse(raw);
  if (!file.success) {
    throw new UserError(`not a kforge wins file: ${describeIssues(file.error)}`, { hint: "pass a file written by `kforge memory export`" });
  }
  if (file.data.version > WINS_FILE_VERSION) {
    throw new UserError(`wins file format version ${file.data.version} is newer than this kforge reads (${WINS_FILE_VERSION})`, {
      hint: "upgrade kforge, or export again with the version that made the file",
    });
  }
  const report: ImportReport = { imported: [], skipped: [] };
  const seen = new Map<string, number>();
  store.setup();
  store.db
    .transaction(() => {
      file.data.wins.forEach((entry, index) => {
        const problem = typeof (entry as { problem?: unknown })?.problem === "string" ? String((entry as { problem: string }).problem) : null;
        const skip = (reason: string) => report.skipped.push({ index, problem, reason });
        const parsed = ExportedWin.safeParse(entry);
        if (!parsed.success) {
          skip(`invalid: ${describeIssues(parsed.error)}`);
          return;
        }
        const w = parsed.data;
        if (kernelHash(w.kernel.source) !== w.kernel.sha256) {
          skip("kernel source does not match its sha256 (edited or corrupted)");
          return;
        }
        const inFile = seen.get(w.kernel.sha256);
        if (inFile !== undefined) {
          skip(`duplicate: same kernel as entry ${inFile} of this file`);
          return;
        }
        seen.set(w.kernel.sha256, index);
        const known = store.idOfKernel(w.kernel.sha256);
        if (known !== undefined) {
          skip(`duplicate: kernel already in memory as win #${known}`);
          return;
        }
        const { kernel, provenance, ...rest } = w;
        const out = store.remember({ ...rest, kernelSource: kernel.source, runId: provenance.runId, nodeId: provenance.nodeId });
        report.imported.push({ index, id: out.id, problem: w.problem });
      });
    })
    .immediate();
  return report;
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
  return issues.join("; ") + (error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : "");
}
