"""The poly_exp2 switch and its alternatives, for one H100 run (bench/offline/NOTES.md, poly_exp2 section).

    python3 bench/offline/poly_variants.py            # renders bench/offline/poly_out/*.py (git-ignored)
    python3 bench/offline/poly_variants.py --regs     # after a run: registers / spills of each compiled kernel

Labels: default; poly (the switch: odd columns of the score tile on the FMA pipe, half the exp2s); poly_q
(a quarter); poly_3q (three quarters), all at both head dims: the template's POLY_SPLIT constexpr.
bench/offline/poly.json maps them for `quick_gpu.py --set json:bench/offline/poly.json`. (poly_alt, odd key blocks
entirely on the FMA pipe, was measured slower and rewrote generated text; it is gone with the string template.)
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
OUT = os.path.join(ROOT, "bench", "offline", "poly_out")
PROBLEMS = ("softcap", "full", "softcap_causal", "gqa", "causal", "alibi", "relpos")
SPLITS = {"poly_q": "quarter", "poly_3q": "three_quarters"}


def write_variants():
    from render import render
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, ".gitignore"), "w") as f:
        f.write("*\n")
    sets = {}
    for p in PROBLEMS:
        sets[p] = {"poly": {"poly_exp2": True}}
        for label, split in SPLITS.items():
            path = os.path.join(OUT, f"{p}_{label}.py")
            with open(path, "w") as f:
                f.write(render(os.path.join(ROOT, "problems", p), {"poly_exp2": True}, poly_split=split))
            sets[p][label] = os.path.relpath(path, ROOT)
    return sets


def registers():
    """Compile default and the variants at D=64 and D=128 (small S: same kernel) and print regs / spills."""
    import torch
    from quick_gpu import load_module
    from render import render
    for p in ("full", "softcap"):
        for label in ("default", "poly", *SPLITS):
            src = render(os.path.join(ROOT, "problems", p), {} if label == "default" else {"poly_exp2": True},
                         poly_split=SPLITS.get(label, "half"))
            path = os.path.join(OUT, f"regs_{p}_{label}.py")
            with open(path, "w") as f:
                f.write(src)
            mod = load_module(path, f"regs_{p}_{label}")
            for d in (64, 128):
                q = torch.randn(1, 2, 512, d, device="cuda", dtype=torch.bfloat16)
                mod.attention(q, q, q, scale=d ** -0.5, **({"cap": 50.0} if p == "softcap" else {}))
            torch.cuda.synchronize()
            try:
                ks = [k for c in mod._attn_fwd.device_caches.values() for k in c[0].values()]
                info = sorted((k.metadata.num_warps, k.n_regs, k.n_spills) for k in ks)
            except Exception as e:  # the cache layout differs between Triton versions
                info = f"{type(e).__name__}: {e}"
            print(f"regs {p} {label}: (warps, regs, spills) {info}", flush=True)


if __name__ == "__main__":
    if "--regs" in sys.argv:
        registers()
    else:
        with open(os.path.join(ROOT, "bench", "offline", "poly.json"), "w") as f:
            json.dump(write_variants(), f, indent=1)
