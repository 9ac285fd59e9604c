"""Checks the scripted coder replies of bench/model-path on the CPU, before any GPU time is spent.

    /usr/bin/python3 bench/model-path/check_replies.py [--reply NAME ...]

For each reply named in expect.json: the module a kforge coder would extract (agents/parse.ts's rule:
the last closed python block defining `attention` that is at least half as long as the longest, think
blocks ignored) passes the verifier's static checks, then behaves as expected on the CPU Triton
emulator over the softcap correctness shapes: "ok" passes every shape within the verifier's allowance,
"wrong_output" fails some, "runtime_error" raises, "compile_error" has its compile-time defect (a
runtime argument bounding tl.arange), "no_code" has no usable block. One JSON line per reply; exit 1
on any mismatch. The emulator checks kernel logic only: what Triton's compiler alone sees is left to
the GPU run.
"""
import argparse
import ast
import importlib.util
import json
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "offline", "triton_emu"))
sys.path.insert(0, os.path.join(ROOT, "tools", "verifier", "harness"))

import torch  # noqa: E402

from kforge_harness.params import materialise  # noqa: E402
from kforge_harness.static_checks import check_source  # noqa: E402

sys.path.insert(0, HERE)
from reply_code import extract_module  # noqa: E402

PROBLEM = "softcap"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def emulate(source, name):
    """[(shape, max error, allowance)] of the module on the correctness shapes, float64 golden."""
    pdir = os.path.join(ROOT, "problems", PROBLEM)
    spec = json.load(open(os.path.join(pdir, "problem.json")))
    ref = load(os.path.join(pdir, "reference.py"), "ref_" + PROBLEM)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    try:
        attention = load(f.name, "cand_" + name.replace("-", "_")).attention
    finally:
        os.unlink(f.name)
    rows = []
    for shape in spec["shapes"]["correctness"]:
        shape = {**shape, "Hkv": shape.get("Hkv", shape["H"])}
        g = torch.Generator().manual_seed(0)
        q = torch.randn(shape["B"], shape["H"], shape["S"], shape["D"], generator=g).bfloat16()
        k, v = (torch.randn(shape["B"], shape["Hkv"], shape["S"], shape["D"], generator=g).bfloat16() for _ in range(2))
        params = materialise(spec["params"], shape, "cpu", 0)
        scale = 1.0 / math.sqrt(shape["D"])
        gold = ref.reference(q.double(), k.double(), v.double(), scale=scale, **params)
        low = ref.reference(q, k, v, scale=scale, **params)
        out = attention(q, k, v, scale=scale, **params)
        err = (out.double() - gold).abs().max().item() if torch.isfinite(out).all() else float("inf")
        rows.append((shape, err, 2 * (low.double() - gold).abs().max().item() + spec.get("atol", 1e-3)))
    return rows


def constexpr_defect(source):
    """A @triton.jit parameter without tl.constexpr that bounds a tl.arange (a compile error), or None."""
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef) or not any("jit" in ast.unparse(d) for d in fn.decorator_list):
            continue
        runtime = {a.arg for a in fn.args.args if a.annotation is None or "constexpr" not in ast.unparse(a.annotation)}
        for call in ast.walk(fn):
            if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("arange"):
                used = {n.id for arg in call.args for n in ast.walk(arg) if isinstance(n, ast.Name)} & runtime
                if used:
                    return f"tl.arange bounded by runtime argument(s) {sorted(used)} in {fn.name}"
    return None


def check(name, expect):
    reply = open(os.path.join(HERE, "replies", name + ".md")).read()
    source = extract_module(reply)
    if expect == "no_code":
        return source is None, "no usable python block outside the reasoning" if source is None else "a usable block was found"
    if source is None:
        return False, "no python block defining attention"
    violations = check_source(source, "cuda")
    if violations:
        return False, f"static check {violations[0].rule}: {violations[0].message}"
    if expect == "compile_error":
        defect = constexpr_defect(source)
        return defect is not None, defect or "no compile-time defect found"
    try:
        rows = emulate(source, name)
    except Exception as exc:  # noqa: BLE001
        return expect == "runtime_error", f"raised {type(exc).__name__}: {str(exc)[:120]}"
    failing = [f"S={s['S']} D={s['D']}: {e:.3g} > {a:.3g}" for s, e, a in rows if not e <= a]
    worst = max(e / a for _, e, a in rows)
    if expect == "ok":
        return not failing, f"every shape passes (worst {worst:.2f}x the allowance)" if not failing else "; ".join(failing)
    if expect == "wrong_output":
        return bool(failing), f"fails {len(failing)} of {len(rows)} shapes ({failing[0] if failing else 'none'})"
    return False, f"expected {expect}, but it ran and {'passed' if not failing else 'failed'}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reply", action="append", help="check only these replies (names in expect.json)")
    a = ap.parse_args()
    table = {k: v for k, v in json.load(open(os.path.join(HERE, "expect.json"))).items() if not k.startswith("$")}
    bad = 0
    for name, e in table.items():
        if a.reply and name not in a.reply:
            continue
        ok, why = check(name, e["expect"])
        bad += not ok
        print(json.dumps({"reply": name, "expect": e["expect"], "ok": ok, "why": why}), flush=True)
    print(f"check_replies: {bad} mismatching", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
