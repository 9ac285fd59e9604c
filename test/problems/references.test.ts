/**
 * Every suite problem's plain-math `reference` against an independent eager evaluation of its
 * FlexAttention mods (float64, CPU), plus float32/bf16 behaviour, GQA and fully masked rows.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listProblemNames, problemsDir } from "../../problems/load.ts";
import { checkReferences, type ProblemReport, type ShapeRow } from "./helpers.ts";

const SUITE = [
  "alibi",
  "alibi_causal",
  "causal",
  "document",
  "full",
  "gqa",
  "natten_2d",
  "prefix_lm",
  "relpos",
  "sliding_window",
  "softcap",
  "softcap_causal",
];
/** Params under which some query rows see no key at all (suite params never do that). */
const EMPTY_ROW_PARAMS: Record<string, Record<string, number>> = { sliding_window: { window: 0 }, natten_2d: { radius: -1 } };
/**
 * Bound on max|bf16 reference - float64 reference|. relpos is loose on purpose: its bias (q - kv) reaches
 * hundreds, where bf16 spacing is 1-2, so the all-bf16 reference's logits are off by up to ~1.
 */
const BF16_BOUND: Record<string, number> = { relpos: 1.5 };

let reports: Map<string, ProblemReport>;
let tmp: string;

beforeAll(() => {
  reports = checkReferences(SUITE.map((name) => ({ dir: join(problemsDir(), name), emptyRowParams: EMPTY_ROW_PARAMS[name] })));
  tmp = mkdtempSync(join(tmpdir(), "kforge-ref-"));
}, 300_000); // twelve problems in float64 on a small, busy CPU
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rows(r: ProblemReport): ShapeRow[] {
  return [...r.shapes, r.gqa];
}

describe("problem references (CPU, float64 golden)", () => {
  it("the suite holds exactly the twelve problems", () => {
    expect(listProblemNames()).toEqual(SUITE);
  });

  describe.each(SUITE)("%s", (name) => {
    const report = (): ProblemReport => {
      const r = reports.get(name);
      if (!r || r.error) throw new Error(`${name}: checker failed\n${r?.error ?? "no report"}`);
      return r;
    };

    it("plain-math reference equals the FlexAttention mods evaluated on index grids", () => {
      for (const row of rows(report())) expect(row.modsVsReference, JSON.stringify(row.shape)).toBeLessThan(1e-6);
    });

    it("float32 and bf16 references are close to float64, finite, with the input dtype and shape", () => {
      for (const row of rows(report())) {
        expect(row.float32Error).toBeLessThan(1e-4);
        expect(row.bf16Error).toBeLessThan(BF16_BOUND[name] ?? 0.1);
        expect(row).toMatchObject({ dtypesOk: true, shapeOk: true, finite: true });
      }
    });

    it("handles GQA: head h reads KV head h // (H / Hkv)", () => {
      expect(report().gqa.groupedVsExpanded).toBeLessThan(1e-12);
    });

    it("every query sees at least one key at the suite's shapes", () => {
      for (const row of rows(report())) expect(row.emptyRows).toBe(0);
    });
  });

  it.each(Object.keys(EMPTY_ROW_PARAMS))("%s: fully masked rows give exactly 0 in every dtype", (name) => {
    const row = reports.get(name)?.emptyRowCase;
    expect(row?.emptyRows).toBeGreaterThan(0);
    expect(row?.emptyRowsZero).toBe(true);
    expect(row?.finite).toBe(true);
  });

  it("catches a reference whose math disagrees with its mods", () => {
    const dir = join(tmp, "softcap");
    cpSync(join(problemsDir(), "softcap"), dir, { recursive: true });
    const ref = join(dir, "reference.py");
    const text = readFileSync(ref, "utf8");
    const broken = text.replace("    s = cap * torch.tanh(s / cap)\n", "    s = 0.9 * cap * torch.tanh(s / cap)\n");
    expect(broken).not.toBe(text);
    writeFileSync(ref, broken);
    const r = checkReferences([{ dir }]).get("softcap");
    expect(Math.max(...(r ? rows(r) : []).map((x) => x.modsVsReference ?? 0))).toBeGreaterThan(1e-3);
  }, 180_000);
});
