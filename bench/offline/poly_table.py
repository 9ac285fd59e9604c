"""Compact table of a poly_exp2 run: per problem and head dim, default ms and each variant's speed relative to it.

    python3 bench/offline/poly_table.py $OUT/quick_gpu.json

Cells are default ms / variant ms (> 1: the variant is faster), do_bench median / verifier timing; "!" marks a
variant that failed the error check on the benchmark shape; the last lines list correctness-shape results.
"""
import json
import sys


def main(path):
    res = json.load(open(path))
    rows = [r for r in res["rows"] if r.get("kind") == "bench" and "ms" in r]
    labels = [lb for lb in ("poly", "poly_q", "poly_3q", "poly_alt") if any(r["config"] == lb for r in rows)]
    print(f"| problem | D | default ms (do_bench / verifier) | x flex | " + " | ".join(labels) + " |")
    print("|---|---|---|---|" + "---|" * len(labels))
    keys = sorted({(r["problem"], r["shape"][4]) for r in rows}, key=lambda k: (k[0], -k[1]))
    for p, d in keys:
        rs = {r["config"]: r for r in rows if r["problem"] == p and r["shape"][4] == d}
        base = rs.get("default")
        if not base:
            continue
        cells = []
        for lb in labels:
            r = rs.get(lb)
            if not r:
                cells.append("-")
                continue
            v2 = f"{base['ms_v2'] / r['ms_v2']:.3f}" if "ms_v2" in r and "ms_v2" in base else "-"
            cells.append(f"{base['ms'] / r['ms']:.3f} / {v2}" + ("" if r.get("ok") else " !"))
        v2 = f"{base['ms_v2']:.3f}" if "ms_v2" in base else "-"
        print(f"| {p} | {d} | {base['ms']:.3f} / {v2} | {base['speedup']:.2f} | " + " | ".join(cells) + " |")
    for r in res["rows"]:
        if r.get("kind") == "correctness":
            print(f"correctness {r['problem']}/{r['config']}: ok={r['ok']} err {r['err']:.4g} allow {r['allow']:.4g}")
    for k, v in res.get("errors", {}).items():
        print(f"error {k}: {v[:200]}")


if __name__ == "__main__":
    main(sys.argv[1])
