"""Render a candidate module: the kernel template verbatim, the generated hooks, and a config block.

    python3 tools/offline/render.py --problem problems/softcap --config '{"BLOCK_M":128,"num_warps":8}'
    python3 tools/offline/render.py --problem problems/softcap --ir mods.json   # mods from a front end (ir.py JSON)

A problem folder with a mods.json (a user variant traced by the harness) renders from it.

prints the module (stdout); a problem outside the translatable subset exits 2 with the reason.
Pure text generation: neither torch nor triton is imported. The module is kernel_template.py up to its HOOKS
marker, then the hook functions written here from the mods' typed IR (hooks.py), then `KFORGE_RENDER`,
`_TILES` and `_CFG`: nothing edits generated text after the fact.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from config import ConfigError, resolve  # noqa: E402
from emit import Elementwise, Intervals  # noqa: E402
from hooks import Hooks  # noqa: E402
from ir import Call, IRError, Load, Mods, mods_from_json, walk  # noqa: E402
from lower import deps, drop_row_constants, estimate_density, grid_layout, lower_score, normalize, score_bands  # noqa: E402
from translate import TranslateError, to_mods, translate_factory  # noqa: E402

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_template.py")
HOOKS_MARKER = "# ==== HOOKS:"
POLY_SPLITS = {"half": 0, "quarter": 1, "three_quarters": 2}
# A config as render takes it: a partial JSON object, or its text (config.resolve fills in the rest).
ConfigArg = Union[Dict[str, Any], str, None]


def template_head() -> str:
    """kernel_template.py up to and including its HOOKS marker line: the verbatim part of every module."""
    text = open(TEMPLATE).read()
    at = text.index(HOOKS_MARKER)
    return text[:text.index("\n", at) + 1]


def features_of(mods: Mods, params: Optional[Mapping[str, Any]] = None) -> Set[str]:
    """Problem features that pick default tiles and switches (params: problem.json's, for mask density)."""
    f: Set[str] = set()
    if mods.score is not None:
        f.add("score_mod")
        if any(isinstance(n, Call) and n.fn == "tanh" for n in walk(mods.score)):
            f.add("tanh")
        bands = score_bands(drop_row_constants(lower_score(mods.score, mods.tensor_info())))
        if bands is not None:
            f.add("score_bands")  # clamps of kv_idx - q_idx that saturate on whole key blocks
            if bands["gather"]:
                f.add("score_bands_gather")  # ... and a per-element gather disappears there
    mask = normalize(mods.mask, mods.tensor_info())
    if mask is not None:
        f.add("mask")
        if any((isinstance(n, Load) and "kv_idx" in deps(n)) or (getattr(n, "op", None) in ("//", "%"))
               for n in walk(mask)):
            f.add("irregular_mask")
        density = estimate_density(mask, params or {})
        if density is None or density < 0.35:
            f.add("sparse_mask")
        grid = grid_layout(mask)
        if grid is not None:
            giv = Intervals(Elementwise(prefix="_g"))
            giv.boolean(grid[1])
            if not giv.unbounded:  # the 2-D kernel gains by visiting only the key rectangle it can bound
                f.add("grid2d")
        iv = Intervals(Elementwise(prefix="_c"))
        iv.boolean(mask)
        if iv.unbounded:
            f.add("unbounded_mask")  # the classifier cannot bound part of it: the block-sparse path's default
    return f


def load_problem(problem_dir: str, ir_path: Optional[str] = None) -> Tuple[str, Mods, Dict[str, Any]]:
    """(name, Mods, params) of a problem folder. The mods come from an ir.py JSON file: ir_path when given, else the
    folder's mods.json (a user variant, traced by the harness); else reference.py's factories are translated."""
    name = os.path.basename(os.path.normpath(problem_dir))
    spec_path = os.path.join(problem_dir, "problem.json")
    spec = json.load(open(spec_path)) if os.path.exists(spec_path) else {}
    params = spec.get("params", {})
    traced = os.path.join(problem_dir, "mods.json")
    ir_path = ir_path or (traced if os.path.exists(traced) else None)
    if not ir_path and spec.get("variant"):  # a user variant whose mods did not lower: say why, not "no make_score_mod"
        raise TranslateError(f"the variant's mods have no kernel IR: {spec['variant'].get('irError') or 'mods.json is missing'}")
    if ir_path:
        return name, mods_from_json(json.load(open(ir_path))), params
    with open(os.path.join(problem_dir, "reference.py")) as f:
        src = f.read()
    return name, to_mods(translate_factory(src, "score"), translate_factory(src, "mask")), params


def resolve_config(problem_dir: str, config: ConfigArg = None, ir_path: Optional[str] = None) -> Dict[str, Any]:
    """The full config a render would use (every tile and switch) plus the problem's features."""
    _, mods, params = load_problem(problem_dir, ir_path)
    feats = features_of(mods, params)
    cfg = resolve(config or {}, feats)
    return {"tiles": {str(d): t for d, t in cfg["tiles"].items()},
            "switches": {k: v for k, v in cfg.items() if k != "tiles"}, "features": sorted(feats)}


def render(problem_dir: str, config: ConfigArg = None, poly_split: str = "half", poly_max_d: int = 256, ir_path: Optional[str] = None) -> str:
    """The candidate module's source for the problem in problem_dir under config (dict or JSON string).

    poly_split / poly_max_d: how much of the tile the poly_exp2 switch moves to the FMA pipe and up to which
    head dim (bench/offline/poly_variants.py renders the alternatives it was measured against).
    """
    name, mods, params = load_problem(problem_dir, ir_path)
    return render_mods(name, mods, params, config, poly_split, poly_max_d)


def render_mods(name: str, mods: Mods, params: Mapping[str, Any], config: ConfigArg = None, poly_split: str = "half", poly_max_d: int = 256) -> str:
    """The module for already-parsed mods (the entry point for front ends other than translate.py)."""
    raw = config if isinstance(config, dict) else json.loads(config or "{}")
    feats = features_of(mods, params)
    cfg = resolve(raw, feats)
    hooks = Hooks(mods, cfg)
    tiles = {d: (t["BLOCK_M"], t["BLOCK_N"], t["num_warps"], t["num_stages"]) for d, t in cfg["tiles"].items()}
    switches = dict(hooks.constexprs(), POLY=cfg["poly_exp2"], POLY_MAX_D=int(poly_max_d),
                    POLY_SPLIT=POLY_SPLITS[poly_split])
    block = [f'KFORGE_RENDER = """kforge offline template, problem {name}: {hooks.summary()}', "",
             f"Config: {json.dumps(raw)}", '"""',
             f"_TILES = {tiles!r}",
             "_CFG = dict(" + ", ".join(f"{k}={v!r}" for k, v in switches.items()) + ")", ""]
    return template_head() + "\n\n" + hooks.source() + "\n\n\n" + "\n".join(block)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--problem", required=True, help="problem folder (with reference.py)")
    ap.add_argument("--config", default="{}", help="JSON config (tiles, switches); see tools/offline/config.py")
    ap.add_argument("--ir", help="the mods as an ir.py JSON document instead of translating reference.py")
    ap.add_argument("--resolve", action="store_true", help="print the resolved config and features as JSON instead")
    a = ap.parse_args(argv)
    try:
        if a.resolve:
            sys.stdout.write(json.dumps(resolve_config(a.problem, a.config, a.ir)) + "\n")
        else:
            sys.stdout.write(render(a.problem, a.config, ir_path=a.ir))
    except (TranslateError, ConfigError, IRError) as e:
        sys.stderr.write(f"render: {a.problem}: {e}\n")
        return 2
    except FileNotFoundError as e:
        sys.stderr.write(f"render: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
