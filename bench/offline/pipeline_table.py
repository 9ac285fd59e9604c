"""Compact table of a pipeline run: per problem and head dim, default ms and each variant's speed relative to it.

    python3 bench/offline/pipeline_table.py $OUT/timing.json [$OUT/correctness.json]

Cells are default ms / variant ms (> 1: the variant is faster), do_bench median / verifier timing; "!" marks a
variant that failed the error check on the benchmark shape. pv_defer_w8 is the very kernel of pv_defer at D=128,
so its D=128 cell is a noise reference. Then the correctness-shape results and compile errors.
"""
import json
import sys

from variant_table import print_speed_table

LABELS = ("pv_defer", "pv_defer_all", "pv_defer_w8", "qk_ahead", "fixture")


def main(timing, correctness=None):
    res = json.load(open(timing))
    print_speed_table(res, LABELS)
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
