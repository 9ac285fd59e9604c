"""What kforge's IR analysis finds in a variant's mods, in words for the model's prompt.

    python3 tools/offline/analyze.py --problem DIR      # prints a JSON list of notes (mods.json or reference.py)

Each note states one structural fact the offline template exploits, so a model writing its own kernel can exploit it
too: a score_mod that reads kv_idx - q_idx only through clamps (constant per (b, h) beyond the clamps' offsets,
lower.score_bands), a mask whose tiles interval arithmetic classifies as empty, full or partial, a mask on a 2-D
token grid, a mask whose tile structure depends on captured tensors (a per-shape block mask), and the mask's density.
Pure analysis of the IR: neither torch nor triton is imported.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, List, Mapping, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emit import Elementwise, Intervals  # noqa: E402
from ir import Bin, Call, Cmp, IRError, Load, Mods, Neg, Node, Not, Num, Param, Reduce, Var, Where, walk  # noqa: E402
from lower import _fold, _saturate, estimate_density, grid_layout, normalize, score_bands  # noqa: E402
from lower import drop_row_constants, lower_score  # noqa: E402
from translate import TranslateError  # noqa: E402

PREC = {"|": 1, "^": 2, "&": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "neg": 7}


def text(n: Node, outer: int = 0) -> str:
    """An IR node as Python source (torch calls spelled as torch.fn), parenthesised only where needed."""
    def wrap(s: str, p: int) -> str:
        return f"({s})" if p < outer else s
    if isinstance(n, Num):
        return repr(n.value)
    if isinstance(n, Var):
        return n.name
    if isinstance(n, Param):
        return n.name
    if isinstance(n, Load):
        return f"{n.tensor}[{', '.join(text(i) for i in n.index)}]" if n.index else n.tensor
    if isinstance(n, Bin):
        p = PREC[n.op]
        return wrap(f"{text(n.a, p)} {n.op} {text(n.b, p + 1)}", p)
    if isinstance(n, Cmp):
        p = PREC["cmp"]
        return wrap(f"{text(n.a, p + 1)} {n.op} {text(n.b, p + 1)}", p)
    if isinstance(n, Neg):
        return wrap(f"-{text(n.a, PREC['neg'])}", PREC["neg"])
    if isinstance(n, Not):
        return wrap(f"~{text(n.a, PREC['neg'])}", PREC["neg"])
    if isinstance(n, Where):
        return f"torch.where({text(n.cond)}, {text(n.a)}, {text(n.b)})"
    if isinstance(n, Call):
        return f"torch.{n.fn}({', '.join(text(a) for a in n.args)})"
    if isinstance(n, Reduce):
        return f"{n.op} over r < {n.size} of ({text(n.body)})"
    raise ValueError(n)


def _band_note(mods: Mods) -> Optional[str]:
    score = normalize(mods.score, mods.tensor_info())
    if score is None:
        return None
    # the offsets come from the lowered score (what the kernel sees); the forms from the mod as written
    bands = score_bands(drop_row_constants(lower_score(mods.score, mods.tensor_info())))
    if bands is None:
        return None
    parts = []
    for side, op in (("lo", "<="), ("hi", ">=")):
        if bands[side] is None:
            continue
        found: List[int] = []
        form = _fold(_saturate(score, -1 if side == "lo" else 1, found))
        parts.append(f"where kv_idx - q_idx {op} {bands[side][0]} it is `{text(form)}`")
    what = "one value per (b, h) added to the score" if bands["gather"] else "free of the clamps"
    return ("Clipped offsets: the score_mod reads kv_idx - q_idx only through clamps, so " + " and ".join(parts) +
            f" ({what} for every such key). Tiles of keys wholly beyond those offsets need "
            f"{'no per-element gather or clamp' if bands['gather'] else 'no clamp'}; only the tiles within them do.")


def _mask_notes(mods: Mods, params: Mapping[str, Any]) -> List[str]:
    mask = normalize(mods.mask, mods.tensor_info())
    if mask is None:
        return []
    notes: List[str] = []
    density = estimate_density(mask, params)
    grid = grid_layout(mask)
    if grid is not None:
        notes.append(f"2-D token grid: the mask reads q_idx and kv_idx only as `idx // {text(grid[0])}` and "
                     f"`idx % {text(grid[0])}` (row and column on a grid {text(grid[0])} wide), so a tile of queries "
                     "that is a near-square rectangle of the grid sees a rectangle of keys (gather K/V rows by index) "
                     "far smaller than a run of consecutive keys.")
    iv = Intervals(Elementwise(prefix="_c"))
    iv.boolean(mask)
    tensors = sorted({n.tensor for n in walk(mask) if isinstance(n, Load)})
    if iv.unbounded:
        notes.append("Data-dependent mask: which (query block, key block) tiles are empty, full or partial depends on "
                     f"the values of {', '.join(f'`{t}`' for t in tensors) or 'its inputs'}, not on the indices alone: "
                     "evaluate the mask once per tile for each shape (FlexAttention's create_block_mask does this), then "
                     "visit only the non-empty tiles and skip the mask on the full ones.")
    else:
        reads = f" (reading only the per-block min and max of {', '.join(f'`{t}`' for t in tensors)})" if tensors else ""
        notes.append("Bounded mask: interval arithmetic on a tile's query and key index ranges" + reads +
                     " classifies it as empty, full or partial (conservatively: a tile called empty or full is), so a "
                     "kernel can compute each query block's range of key blocks up front, skip the empty ones and apply "
                     "no mask on the full ones.")
    if density is not None:
        notes.append(f"Density: the mask keeps about {100 * density:.0f}% of (q_idx, kv_idx) pairs at S = 4096"
                     + (": most tiles are empty, so the work is in skipping them cheaply." if density < 0.35 else "."))
    return notes


def structure_notes(mods: Mods, params: Optional[Mapping[str, Any]] = None) -> List[str]:
    """The notes for one variant's mods (params: problem.json's, for the mask's density)."""
    band = _band_note(mods)
    return ([band] if band else []) + _mask_notes(mods, params or {})


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--problem", required=True, help="problem folder (mods.json, or reference.py to translate)")
    a = ap.parse_args(argv)
    from render import load_problem  # render imports this module's siblings; load it only for the CLI
    try:
        _, mods, params = load_problem(a.problem)
    except (TranslateError, IRError, FileNotFoundError) as e:
        sys.stderr.write(f"analyze: {a.problem}: {e}\n")
        return 2
    sys.stdout.write(json.dumps(structure_notes(mods, params)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
