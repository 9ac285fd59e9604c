"""Variant files (FlexAttention mods) traced and lowered as `kforge problems new` does, rendered into the offline
template and run on the CPU Triton emulator against the variant's own reference (its mods evaluated element-wise in
float64), by the verifier's rule: max error <= 2 x the low-precision reference's error + atol.

    python3 test/offline/variant_check.py FILE.py ... [--config JSON ...] [--shape BxH[/Hkv]xS[:Skv]xD ...]
                                                      [--mutate] [--as-param] [--replace FROM TO]
    python3 test/offline/variant_check.py --lower-only FILE.py ...   # one line per file: lowered or why not

Prints one JSON line per variant (its IR's reductions and calls, the hooks' tl.dot count) and one per (variant,
config, shape); exits 1 on any failure. --mutate changes every captured 0-d tensor in place after each check and
checks again (the kernel must read the new value); --as-param first rewrites those captures as host scalars (IR
Params, the form of mods.json documents written before 0-d captures became rank-0 tensors). --replace breaks the
rendered module on purpose (the tests' proof that the check can fail).
"""
import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "offline", "triton_emu"))
sys.path.insert(0, os.path.join(ROOT, "tools", "offline"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))

import torch  # noqa: E402

from ir import Call, Reduce, mods_from_json, walk  # noqa: E402
from kforge_harness import variant_build as VB  # noqa: E402
from kforge_harness.inspect_variant import inspect_folder  # noqa: E402
from render import HOOKS_MARKER, render_mods  # noqa: E402

SMALL = {"BLOCK_M": 32, "BLOCK_N": 16}
SHAPES = ["1x2x37x16", "2x4/2x20:45x32"]
LOWER_SHAPES = [{"B": 1, "H": 2, "S": 17, "D": 16}, {"B": 2, "H": 3, "S": 77, "D": 16}]


def parse_shape(text):
    b, h, s, d = text.split("x")
    h, hkv = (h.split("/") + [h])[:2]
    s, skv = (s.split(":") + [s])[:2]
    return {"B": int(b), "H": int(h), "Hkv": int(hkv), "S": int(s), "Skv": int(skv), "D": int(d)}


def inspect(path):
    """The harness's inspect_variant report on a variant file (both kinds from the one file)."""
    src = {"file": os.path.basename(path), "symbol": None}
    draft = {"variant": {"score": src, "mask": dict(src)}, "shapes": {"correctness": LOWER_SHAPES}}
    return draft, inspect_folder(draft, os.path.dirname(os.path.abspath(path)))


def lower(path):
    """The problem dict and the IR document of a variant file, as the harness's inspect_variant job makes them."""
    draft, rep = inspect(path)
    if rep["errors"] or rep["ir"] is None:
        raise SystemExit(f"{path}: did not lower: {rep['errors'] or rep.get('irError')}")
    return {**draft, "variant": rep["variant"]}, rep["ir"]


def as_params(ir):
    """The IR with every rank-0 tensor read as a host scalar (a Param)."""
    zero = [k for k, t in ir["tensors"].items() if t["rank"] == 0]

    def sub(n):
        if isinstance(n, dict):
            if n.get("load") in zero:
                return {"param": n["load"]}
            return {k: sub(v) for k, v in n.items()}
        return [sub(x) for x in n] if isinstance(n, list) else n
    return {**sub({k: ir[k] for k in ("score", "mask")}), "version": 1, "scalars": sorted(set(ir["scalars"]) | set(zero)),
            "tensors": {k: t for k, t in ir["tensors"].items() if k not in zero}}


def run_one(mod, built, shape, seed, atol=1e-3):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(shape["B"], shape["H"], shape["S"], shape["D"], generator=g).to(torch.bfloat16)
    k, v = (torch.randn(shape["B"], shape["Hkv"], shape["Skv"], shape["D"], generator=g).to(torch.bfloat16) for _ in range(2))
    out = mod.attention(q, k, v, scale=0.3, **built.tensors)
    ref = VB.evaluate(q.double(), k.double(), v.double(), 0.3, built)
    low = VB.evaluate(q, k, v, 0.3, built).double()
    err, allow = float((out.double() - ref).abs().max()), 2 * float((low - ref).abs().max()) + atol
    return {"err": round(err, 6), "allow": round(allow, 6), "ok": bool(err <= allow and torch.isfinite(out).all())}


# the rendered modules (kept on disk for tracebacks while the check runs), removed when it exits
MODULES_DIR = tempfile.mkdtemp(prefix="kforge_variant_check_")
atexit.register(shutil.rmtree, MODULES_DIR, True)


def load_module(name, source):
    path = os.path.join(MODULES_DIR, f"{name}.py")
    with open(path, "w") as f:
        f.write(source)
    mod = type(sys)("cand_" + name)
    mod.__file__ = path
    exec(compile(source, path, "exec"), mod.__dict__)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--config", action="append")
    ap.add_argument("--shape", action="append")
    ap.add_argument("--mutate", action="store_true")
    ap.add_argument("--as-param", action="store_true")
    ap.add_argument("--replace", nargs=2, action="append", default=[], metavar=("FROM", "TO"))
    ap.add_argument("--lower-only", action="store_true")
    a = ap.parse_args()
    if a.lower_only:
        for path in a.files:
            _, rep = inspect(path)
            print(json.dumps({"variant": os.path.basename(path)[:-3], "lowered": rep["ir"] is not None,
                              "errors": rep["errors"], "irError": rep.get("irError")}), flush=True)
        return
    configs = [json.loads(c) for c in a.config] if a.config else [SMALL]
    shapes = [parse_shape(s) for s in a.shape or SHAPES]
    bad = 0
    for path in a.files:
        name = os.path.basename(path)[:-3]
        prob, ir = lower(path)
        if a.as_param:
            ir = as_params(ir)
        mods = mods_from_json(ir)
        nodes = [n for root in (mods.score, mods.mask) if root is not None for n in walk(root)]
        for ci, cfg in enumerate(configs):
            src = render_mods(name, mods, {}, cfg)
            for old, new in a.replace:
                if old not in src:
                    raise SystemExit(f"--replace: {old!r} is not in the rendered module")
                src = src.replace(old, new)
            hooks = src[src.index(HOOKS_MARKER):]
            mod = load_module(f"{name}{ci}", src)
            if ci == 0:
                print(json.dumps({"variant": name, "reductions": [f"{n.op}:{n.size}" for n in nodes if isinstance(n, Reduce)],
                                  "calls": sorted({n.fn for n in nodes if isinstance(n, Call)}), "scalars": list(mods.scalars),
                                  "rank0": sorted(t for t, i in mods.tensors if i.rank == 0), "dots": hooks.count("tl.dot("),
                                  "switches": mod._CFG}), flush=True)
            for si, shape in enumerate(shapes):
                built = VB.build(prob, os.path.dirname(os.path.abspath(path)), shape, "cpu", 7 + si)
                rounds = 2 if a.mutate else 1
                for rnd in range(rounds):
                    row = {"variant": name, "config": cfg, "shape": shape, "round": rnd, **run_one(mod, built, shape, si)}
                    bad += not row["ok"]
                    print(json.dumps(row), flush=True)
                    for t in built.tensors.values():
                        if t.dim() == 0:  # in place, as a user would between calls
                            t.copy_(t * 2 + 1 if t.dtype != torch.bool else ~t)
    print(f"variant_check: {bad} failing", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
