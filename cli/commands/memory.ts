/** `kforge memory list|show|rm|export|import|search|reindex`: the memory of verified wins. */
import { readFileSync } from "node:fs";
import { UserError } from "../../core/errors.ts";
import { loadProblem } from "../../problems/load.ts";
import { openDatabase } from "../../memory/db.ts";
import { explainScore, retrieveWins, type RetrievalQuery } from "../../memory/retrieve.ts";
import { modSources, queryFromProblem } from "../../memory/seed.ts";
import { exportWins, importWins, readWinsFile, writeWinsFile } from "../../memory/wins-file.ts";
import { WinsStore } from "../../memory/wins.ts";
import { emit, type Command, type CommandContext, type ParsedArgs } from "../command.ts";
import { positiveInt } from "../int-option.ts";

const SUBCOMMANDS = ["list", "show", "rm", "export", "import", "search", "reindex"] as const;

export const memoryCommand: Command = {
  name: "memory",
  summary: "list, inspect, share and search the memory of verified wins",
  usage: [
    "kforge memory list [--problem NAME]",
    "       kforge memory show ID",
    "       kforge memory rm ID...",
    "       kforge memory export FILE [--problem NAME]",
    "       kforge memory import FILE",
    '       kforge memory search ["DESCRIPTION"] [--problem NAME] [--score-mod FILE] [--mask-mod FILE] [--tags a,b] [--gpu NAME] [-k N]',
    "       kforge memory reindex",
  ].join("\n"),
  details: [
    "examples:",
    '  kforge memory search "softcap with a sliding window" --gpu "NVIDIA H100 80GB HBM3"',
    "  kforge memory search --score-mod my_mod.py --mask-mod my_mask.py",
    "  kforge memory export team-wins.json && kforge memory import team-wins.json",
    "",
    "The database is the one `kforge config` shows (KFORGE_DB, else $KFORGE_HOME/kforge.sqlite). Import validates every entry, checks each",
    "kernel against its sha256 and skips kernels already in memory, saying why for each skipped entry.",
  ].join("\n"),
  options: {
    problem: { type: "string", valueName: "NAME", description: "only this problem (list, export); search for this problem's variant (search)" },
    "score-mod": { type: "string", valueName: "FILE", description: "search: a Python file with the variant's score_mod (read as text)" },
    "mask-mod": { type: "string", valueName: "FILE", description: "search: a Python file with the variant's mask_mod (read as text)" },
    tags: { type: "string", valueName: "LIST", description: "search: comma-separated tags (softcap,windowed,...)" },
    gpu: { type: "string", valueName: "NAME", description: "search: prefer wins measured on this GPU" },
    k: { type: "string", short: "k", valueName: "N", description: "search: how many wins to show", default: "5" },
    limit: { type: "string", valueName: "N", description: "list: at most N wins" },
  },
  async run(args, ctx) {
    const [sub = "list", ...rest] = args.positionals;
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new UserError(`unknown subcommand "memory ${sub}"`, { hint: `use one of: ${SUBCOMMANDS.join(", ")}` });
    }
    const db = openDatabase(ctx.config.dbPath);
    try {
      const store = new WinsStore(db).setup();
      return runSub(sub as (typeof SUBCOMMANDS)[number], rest, args, ctx, store);
    } finally {
      db.close();
    }
  },
};

function runSub(sub: (typeof SUBCOMMANDS)[number], rest: string[], args: ParsedArgs, ctx: CommandContext, store: WinsStore): number {
  const str = (name: string) => (typeof args.values[name] === "string" ? (args.values[name] as string) : undefined);
  switch (sub) {
    case "list": {
      const wins = store.list({ problem: str("problem"), limit: str("limit") !== undefined ? positiveInt(str("limit")!, "--limit") : undefined });
      emit(ctx, wins, () =>
        wins.length === 0
          ? "memory is empty (wins are remembered as searches verify improvements, or imported with `kforge memory import`)"
          : wins
              .map(
                (w) =>
                  `#${String(w.id).padEnd(5)} ${w.problem.padEnd(18)} ${`${w.speedup.toFixed(2)}x`.padStart(7)} ${(w.tflops === null ? "-" : `${w.tflops.toFixed(0)} TF/s`).padStart(10)}  ${w.gpu.padEnd(24)} [${w.features.join(", ")}]`,
              )
              .join("\n"),
      );
      return 0;
    }
    case "show": {
      const w = store.get(winId(rest[0]));
      if (!w) throw new UserError(`memory has no win #${rest[0]}`, { hint: "run `kforge memory list`" });
      emit(ctx, w, () =>
        [
          `#${w.id} ${w.problem}: ${w.speedup.toFixed(2)}x${w.tflops !== null ? `, ${w.tflops} TFLOP/s` : ""} on ${w.gpu}`,
          w.description && `description: ${w.description}`,
          `tags: ${w.tags.join(", ") || "-"}   features: ${w.features.join(", ") || "-"}   params: ${JSON.stringify(w.params)}`,
          `shapes: ${w.shapes.map((s) => `${s.B}x${s.H}${s.Hkv ? `(kv ${s.Hkv})` : ""}x${s.S}x${s.D}`).join("  ") || "-"}`,
          `provenance: run ${w.runId ?? "-"}, node ${w.nodeId ?? "-"}, ${w.createdAt}`,
          `kernel: sha256 ${w.kernelHash}`,
          ...(w.ideas.length ? ["ideas:", ...w.ideas.map((i) => `  - ${i}`)] : []),
          ...(w.scoreMod ? ["--- score_mod", w.scoreMod.trimEnd()] : []),
          ...(w.maskMod ? ["--- mask_mod", w.maskMod.trimEnd()] : []),
          "--- kernel",
          w.kernelSource.trimEnd(),
        ]
          .filter((l) => l !== "")
          .join("\n"),
      );
      return 0;
    }
    case "rm": {
      if (rest.length === 0) throw new UserError("`kforge memory rm` needs at least one ID");
      const ids = rest.map(winId);
      const missing = ids.filter((id) => !store.remove(id));
      emit(ctx, { removed: ids.filter((id) => !missing.includes(id)), missing }, () =>
        [...ids.filter((id) => !missing.includes(id)).map((id) => `removed #${id}`), ...missing.map((id) => `no win #${id}`)].join("\n"),
      );
      return missing.length ? 1 : 0;
    }
    case "export": {
      const file = rest[0];
      if (!file) throw new UserError("`kforge memory export` needs a FILE");
      const out = exportWins(store, { problem: str("problem") });
      writeWinsFile(file, out);
      emit(
        ctx,
        { file, wins: out.wins.length, version: out.version },
        () => `wrote ${out.wins.length} wins to ${file} (format ${out.format} v${out.version})`,
      );
      return 0;
    }
    case "import": {
      const file = rest[0];
      if (!file) throw new UserError("`kforge memory import` needs a FILE");
      const report = importWins(store, readWinsFile(file));
      emit(ctx, report, () =>
        [
          `imported ${report.imported.length} wins from ${file}; skipped ${report.skipped.length}`,
          ...report.imported.map((i) => `  + entry ${i.index} (${i.problem}) -> #${i.id}`),
          ...report.skipped.map((s) => `  - entry ${s.index}${s.problem ? ` (${s.problem})` : ""}: ${s.reason}`),
        ].join("\n"),
      );
      return 0;
    }
    case "search": {
      const query = searchQuery(rest, str);
      const r = retrieveWins(store, query, { k: positiveInt(str("k") ?? "5", "-k") });
      emit(ctx, r, () =>
        [
          `variant features: ${r.features.join(", ") || "none detected"}`,
          ...r.evidence.map((e) => `  ${e}`),
          `full-text query: ${r.match ?? "(none)"}   candidates: ${r.candidates}`,
          "",
          ...(r.results.length === 0 ? ["memory is empty"] : []),
          ...r.results.flatMap((x) => [
            `${x.rank}. #${x.win.id} ${x.win.problem}  ${x.win.speedup.toFixed(2)}x on ${x.win.gpu}  [${x.win.features.join(", ")}]`,
            `   ${explainScore(x.score)}`,
          ]),
        ].join("\n"),
      );
      return 0;
    }
    case "reindex": {
      const n = store.reindex();
      emit(ctx, { reindexed: n }, () => `recomputed features and text index of ${n} wins`);
      return 0;
    }
  }
}

/** The retrieval query from the command line: a problem of the suite, mod files, a description, tags. */
function searchQuery(rest: string[], str: (name: string) => string | undefined): RetrievalQuery {
  const base: RetrievalQuery = str("problem") ? queryFromProblem(loadProblem(str("problem")!)) : {};
  const read = (flag: string) => {
    const path = str(flag);
    if (!path) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new UserError(`cannot read --${flag} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const scoreFile = read("score-mod");
  const maskFile = read("mask-mod");
  const description = rest.join(" ").trim();
  const query: RetrievalQuery = {
    ...base,
    ...(scoreFile !== undefined ? { scoreMod: modSources(scoreFile).scoreMod ?? scoreFile } : {}),
    ...(maskFile !== undefined ? { maskMod: modSources(maskFile).maskMod ?? maskFile } : {}),
    ...(description ? { description: [base.description, description].filter(Boolean).join(". ") } : {}),
    tags: [
      ...(base.tags ?? []),
      ...(str("tags")
        ?.split(",")
        .map((t) => t.trim())
        .filter(Boolean) ?? []),
    ],
    gpu: str("gpu"),
  };
  if (!query.description && !query.scoreMod && !query.maskMod && !query.tags?.length && !query.problem) {
    throw new UserError("`kforge memory search` needs a description, --problem, --score-mod, --mask-mod or --tags");
  }
  return query;
}

function winId(s: string | undefined): number {
  if (!s || !/^#?\d+$/.test(s)) throw new UserError(`expected a win id (a number, as in \`kforge memory list\`), got "${s ?? ""}"`);
  return Number(s.replace("#", ""));
}
