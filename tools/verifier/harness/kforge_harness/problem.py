"""A problem as the harness sees it: problem.json with the schema's defaults applied (mirrors problems/schema.ts)."""
from __future__ import annotations

import json
import os
from typing import Tuple

DEFAULTS = {"params": {}, "tags": [], "atol": 1e-3, "seeds": 2, "device": "cuda"}


def normalize(spec: dict) -> dict:
    """Fills defaults (atol, seeds, device, Hkv = H) so every later step can index without checks."""
    p = {**DEFAULTS, **spec}
    shapes = p.get("shapes") or {}
    p["shapes"] = {
        "correctness": [full_shape(s) for s in shapes.get("correctness", [])],
        "benchmark": [full_shape(s) for s in shapes.get("benchmark", [])],
    }
    return p


def full_shape(s: dict) -> dict:
    return {"B": int(s["B"]), "H": int(s["H"]), "Hkv": int(s.get("Hkv") or s["H"]), "S": int(s["S"]), "D": int(s["D"])}


def shape_label(s: dict) -> str:
    """The key baselines are cached under: "BxHxHkvxSxD"."""
    return f"{s['B']}x{s['H']}x{s['Hkv']}x{s['S']}x{s['D']}"


def load_problem_dir(folder: str) -> Tuple[dict, str]:
    """Reads problems/<name>/problem.json; returns (normalised spec, path of reference.py)."""
    with open(os.path.join(folder, "problem.json")) as f:
        spec = json.load(f)
    return normalize(spec), os.path.join(folder, "reference.py")
