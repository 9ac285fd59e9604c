"""The speed table of a variant run (quick_gpu.py's JSON): per problem and head dim, the default's ms and each
variant's speed relative to it.

Cells are default ms / variant ms (> 1: the variant is faster), do_bench median / verifier timing; "!" marks a
variant that failed the error check on the benchmark shape; "-" a variant not timed there.
"""


def print_speed_table(res, labels):
    """Prints the markdown table for the labels (in this order) that the run timed."""
    rows = [r for r in res["rows"] if r.get("kind") == "bench" and "ms" in r]
    labels = [lb for lb in labels if any(r["config"] == lb for r in rows)]
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
