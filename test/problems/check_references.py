"""Checks problem references (CPU, torch >= 1.13): reads a JSON job on stdin, prints a JSON report.

Job: {"root": repo root, "problems": [{"dir": ..., "emptyRowParams": {...} | null}]}. For every
correctness shape it compares the float64 `reference` with an independent eager evaluation of the
problem's FlexAttention mods (problems/_common/flex_eval.py), and measures the float32 and bf16
references against it; it checks GQA and, with `emptyRowParams`, that fully masked rows give 0.
"""
import importlib.util
import json
import math
import sys
import traceback
from pathlib import Path

import torch

JOB = json.load(sys.stdin)
ROOT = Path(JOB["root"])
sys.path.insert(0, str(ROOT / "problems" / "_common"))
from flex_eval import flex_reference  # noqa: E402


def _verifier_materializer():
    """The verifier's own param materialiser, so both sides agree on generators."""
    sys.path.insert(0, str(ROOT / "tools" / "verifier" / "harness"))
    from kforge_harness.params import materialise

    return lambda params, shape, seed: materialise(params, shape, "cpu", seed)


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, str(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def randn(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)


def check_shape(ref, shape, params, seed, with_mods=True):
    n_b, n_h, s, d = shape["B"], shape["H"], shape["S"], shape["D"]
    n_kv = shape.get("Hkv", n_h)
    q, k, v = (randn((n_b, h, s, d), seed + i) for i, h in enumerate((n_h, n_kv, n_kv)))
    scale = 1.0 / math.sqrt(d)
    golden = ref.reference(q.double(), k.double(), v.double(), scale=scale, **params)
    f32 = ref.reference(q.float(), k.float(), v.float(), scale=scale, **params)
    low = ref.reference(q, k, v, scale=scale, **params)
    row = {"shape": shape, "seed": seed}
    if with_mods:
        mods = flex_reference(q.double(), k.double(), v.double(), scale, ref.make_score_mod(**params), ref.make_mask_mod(**params))
        row["modsVsReference"] = (mods - golden).abs().max().item()
    row["float32Error"] = (f32.double() - golden).abs().max().item()
    row["bf16Error"] = (low.double() - golden).abs().max().item()
    row["dtypesOk"] = golden.dtype == torch.float64 and f32.dtype == torch.float32 and low.dtype == torch.bfloat16
    row["shapeOk"] = all(list(t.shape) == [n_b, n_h, s, d] for t in (golden, f32, low))
    row["finite"] = all(bool(torch.isfinite(t).all()) for t in (golden, f32, low))
    mask_mod = ref.make_mask_mod(**params)
    row["emptyRows"] = 0
    if mask_mod is not None:
        grid = (torch.arange(n_b).view(-1, 1, 1, 1), torch.arange(n_h).view(1, -1, 1, 1), torch.arange(s).view(1, 1, -1, 1), torch.arange(s).view(1, 1, 1, -1))
        keep = torch.broadcast_to(torch.as_tensor(mask_mod(*grid)), (n_b, n_h, s, s))
        empty = ~keep.any(dim=-1)
        row["emptyRows"] = int(empty.sum())
        row["emptyRowsZero"] = all(bool((t[empty] == 0).all()) for t in (golden, f32, low))
    return row


def check_problem(item):
    folder = Path(item["dir"])
    spec = json.loads((folder / "problem.json").read_text())
    ref = _load(folder / "reference.py", "ref_" + spec["name"])
    mat = MATERIALIZE
    report = {"name": spec["name"], "shapes": []}
    for i, shape in enumerate(spec["shapes"]["correctness"]):
        if shape["B"] * shape["H"] * shape["S"] ** 2 > CPU_ELEMENTS:
            shape = dict(shape, B=1, H=1, Hkv=1)  # float64 on a CPU BLAS is slow; masks depend on S, not B or H
        params = mat(spec["params"], shape, 1000 + i)
        report["shapes"].append(check_shape(ref, shape, params, 10 * i))
    # GQA: every reference must accept Hkv < H (head h reads KV head h // (H / Hkv)).
    gshape = {"B": 2, "H": 4, "Hkv": 2, "S": 33, "D": 64}
    if "grid_w" in spec["params"]:
        gshape["S"] = 2 * spec["params"]["grid_w"]
    params = mat(spec["params"], gshape, 7)
    report["gqa"] = check_shape(ref, gshape, params, 77)
    q, k, v = (randn((2, h, gshape["S"], 64), 90 + i) for i, h in enumerate((4, 2, 2)))
    grouped = ref.reference(q.double(), k.double(), v.double(), scale=0.125, **params)
    expanded = ref.reference(q.double(), k.double().repeat_interleave(2, 1), v.double().repeat_interleave(2, 1), scale=0.125, **params)
    report["gqa"]["groupedVsExpanded"] = (grouped - expanded).abs().max().item()
    if item.get("emptyRowParams"):
        shape = {"B": 1, "H": 2, "S": 70, "D": 64}
        params = dict(mat(spec["params"], shape, 3), **item["emptyRowParams"])
        report["emptyRowCase"] = check_shape(ref, shape, params, 5)
    return report


CPU_ELEMENTS = 1 << 21
MATERIALIZE = _verifier_materializer()
results = []
for item in JOB["problems"]:
    try:
        results.append(check_problem(item))
    except Exception:  # report per problem so one broken reference doesn't hide the others
        results.append({"name": Path(item["dir"]).name, "error": traceback.format_exc()})
print(json.dumps({"torch": torch.__version__, "results": results}))
