"""Compact table of a pipeline run: per problem and head dim, default ms and each variant's speed relative to it.

    python3 bench/offline/pipeline_table.py $OUT/timing.json [$OUT/correctness.json]

Cells are default ms / variant ms (> 1: the variant is faster), do_bench median / verifier timing; "!" marks a
variant that failed the error check on the benchmark shape. pv_defer_w8 is the very kernel of pv_defer at D=128,
so its D=128 cell is a noise reference. Then the correctness-shape results and compile errors.
"""
import json
import sys

LABELS = ("pv_defer", "pv_defer_all", "pv_defer_w8", "qk_ahead", "fixture")


def main(timing, correctness=None):
    res = json.load(open(timing))
    rows = [r for r in res["rows"] if r.get("kind") == "bench" and "ms" in r]
    labels = [lb for lb in LABELS if any(r["config"] == lb for r in rows)]
    print("| problem | D | default ms (do_bench / verifier) | x flex | " + " | ".join(labels) + " |")
    print("|---|---|---|---|" + "---|" * len(labels))
    for p, d in sorted({(r["problem"], r["shape"][4]) for r in rows}, key=lambda k: (k[0], -k[1])):
        rs = {r["config"]: r for r in rows if r["problem"] == p and r["shape"][4] == d}
        base = rs.get("default")
        if not base:
            continue
        cells = []
        for lb in labels:
            r = rs.get(lb)
            v2 = f"{base['ms_v2'] / r['ms_v2']:.3f}" if r and "ms_v2" in r and "ms_v2" in base else "-"
            cells.append("-" if not r else f"{base['ms'] / r['ms']:.3f} / {v2}" + ("" if r.get("ok") else " !"))
        v2 = f"{base['ms_v2']:.3f}" if "ms_v2" in base else "-"
        print(f"| {p} | {d} | {base['ms']:.3f} / {v2} | {base['speedup']:.2f} | " + " | ".join(cells) + " |")
    for path in [correctness] if correctness else []:
        other = json.load(open(path))
        bad = [r for r in other["rows"] if r.get("kind") == "correctness" and not r["ok"]]
        n = sum(r.get("kind") == "correctness" for r in other["rows"])
        print(f"correctness shapes: {n} label rows, {len(bad)} failing")
        for r in bad:
            print(f"  FAIL {r['problem']}/{r['config']}: err {r['err']:.4g} allow {r['allow']:.4g} "
                  f"at {r['worst_shape']}")
        res["errors"] = {**other.get("errors", {}), **res.get("errors", {})}
    for k, v in res.get("errors", {}).items():
        print(f"error {k}: {v[:200]}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
