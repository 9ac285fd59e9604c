"""Compact table of a poly_exp2 run: per problem and head dim, default ms and each variant's speed relative to it.

    python3 bench/offline/poly_table.py $OUT/quick_gpu.json

Cells are default ms / variant ms (> 1: the variant is faster), do_bench median / verifier timing; "!" marks a
variant that failed the error check on the benchmark shape; the last lines list correctness-shape results.
"""
import json
import sys

from variant_table import print_speed_table


def main(path):
    res = json.load(open(path))
    print_speed_table(res, ("poly", "poly_q", "poly_3q", "poly_alt"))
    for r in res["rows"]:
        if r.get("kind") == "correctness":
            print(f"correctness {r['problem']}/{r['config']}: ok={r['ok']} err {r['err']:.4g} allow {r['allow']:.4g}")
    for k, v in res.get("errors", {}).items():
        print(f"error {k}: {v[:200]}")


if __name__ == "__main__":
    main(sys.argv[1])
