"""A problem as the harness sees it: problem.json with the schema's defaults applied (mirrors problems/schema.ts).

Every normalised shape carries Hkv and Skv (defaulting to H and S) and the problem's dtype, so the steps that
build inputs and check outputs read them from the shape alone."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping, Tuple, cast

from .protocol import Job
from .types import ProblemSpec, Shape

DEFAULTS: Dict[str, Any] = {"params": {}, "tags": [], "atol": 1e-3, "seeds": 2, "device": "cuda", "dtype": "bf16"}


def normalize(spec: Mapping[str, Any]) -> ProblemSpec:
    """Fills defaults (atol, seeds, device, Hkv = H) so every later step can index without checks."""
    p: Dict[str, Any] = {**DEFAULTS, **spec}
    shapes = p.get("shapes") or {}
    p["shapes"] = {
        "correctness": [full_shape(s, p["dtype"]) for s in shapes.get("correctness", [])],
        "benchmark": [full_shape(s, p["dtype"]) for s in shapes.get("benchmark", [])],
    }
    # problems/schema.ts validated the rest before the client sent it
    return cast(ProblemSpec, p)


def attention_spec(job: Job) -> ProblemSpec:
    """job.problem as the attention modes read it: worker.main normalised it (an attention problem's spec)."""
    return cast(ProblemSpec, job.problem)


def full_shape(s: Mapping[str, Any], dtype: str = "bf16") -> Shape:
    return {"B": int(s["B"]), "H": int(s["H"]), "Hkv": int(s.get("Hkv") or s["H"]), "S": int(s["S"]),
            "Skv": int(s.get("Skv") or s["S"]), "D": int(s["D"]), "dtype": s.get("dtype", dtype)}


def shape_label(s: Shape) -> str:
    """The key baselines are cached under: "BxHxHkvxSxD" ("BxHxHkvxS:SkvxD" when S_kv differs, "-fp16" for fp16)."""
    skv = s.get("Skv") or s["S"]
    seq = f"{s['S']}" if skv == s["S"] else f"{s['S']}:{skv}"
    dt = "" if s.get("dtype", "bf16") == "bf16" else f"-{s['dtype']}"
    return f"{s['B']}x{s['H']}x{s['Hkv']}x{seq}x{s['D']}{dt}"


def load_problem_dir(folder: str) -> Tuple[ProblemSpec, str]:
    """Reads problems/<name>/problem.json; returns (normalised spec, path of reference.py)."""
    with open(os.path.join(folder, "problem.json")) as f:
        spec = json.load(f)
    return normalize(spec), os.path.join(folder, "reference.py")
