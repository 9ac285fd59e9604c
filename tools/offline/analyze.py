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
from typing import Any, List, Mapping, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emit import Elementwise, Intervals  # noqa: E402
from ir import Bin, Call, Cmp, IRError, Load, Mods, Neg, Node, Not, Num, Param, Reduce, Var, Where, walk  # noqa: E402
from lower import _gathers, deps, drop_row_constants, estimate_density, grid_layout, lower_score, normalize, saturated, \
    score_bands  # noqa: E402
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
    # whether the kernel bands the score (the lowered form) decides the note; the forms are the mod as written
    if score_bands(drop_row_constants(lower_score(mods.score, mods.tensor_info()))) is None:
        return None
    sides = [(op, saturated(score, side)) for side, op in ((-1, "<="), (1, ">="))]
    found = [(op, ts) for op, ts in sides if ts is not None]
    if not found:
        return None
    parts = [f"where kv_idx - q_idx {op} {t} it is `{text(form)}`" for op, (t, form) in found]
    forms = [form for _, (_, form) in found]
    note = "Clipped offsets: the score_mod's clamps of kv_idx - q_idx saturate beyond fixed offsets, so " + \
        " and ".join(parts) + "."
    if all(not deps(f) & {"q_idx", "kv_idx"} for f in forms):
        note += " Beyond those offsets the score_mod depends on a key only through its score (the rest is one value " \
                "per (b, h))."
    before, after = _gathers(score), max(_gathers(f) for f in forms)
    if before and not after:
        note += " Tiles of keys wholly beyond them need no per-element gather; only the tiles between do."
    elif after < before:
        note += f" Tiles of keys wholly beyond them need {after} of the score_mod's {before} gathers."
    return note


def _mask_notes(mods: Mods, params: Mapping[str, Any], seq: Tuple[int, int]) -> List[str]:
    mask = normalize(mods.mask, mods.tensor_info())
    if mask is None:
        return []
    notes: List[str] = []
    density = estimate_density(mask, params, seq=seq[0], seq_kv=seq[1])
    grid = grid_layout(mask)
    if grid is not None:
        w = text(grid[0])
        notes.append(f"2-D token grid: the mask reads q_idx and kv_idx only as `idx // {w}` and `idx % {w}` (row and "
                     f"column on a grid {w} wide), so a tile of queries can be a near-square rectangle of the grid and "
                     "visit only the rectangle of keys its mask can reach (gathering K/V rows by index).")
    iv = Intervals(Elementwise(prefix="_c"))
    iv.boolean(mask)
    tensors = sorted({n.tensor for n in walk(mask) if isinstance(n, Load)})
    named = ", ".join(f"`{t}`" for t in tensors)
    if iv.unbounded and tensors:
        notes.append(f"Data-dependent mask: which (query block, key block) tiles are empty, full or partial depends on "
                     f"the values of {named}, not on the indices alone: evaluate the mask once per tile for each shape "
                     "(FlexAttention's create_block_mask does this), then visit only the non-empty tiles and skip the "
                     "mask on the full ones.")
    elif iv.unbounded:
        notes.append("Mask beyond interval arithmetic: it reads only the indices, but through operations whose range "
                     "over a tile cannot be bounded from the tile's index ranges (%, //, bit operations of differences): "
                     "evaluate it once per tile for each shape (FlexAttention's create_block_mask does this), then visit "
                     "only the non-empty tiles and skip the mask on the full ones.")
    else:
        reads = f" (reading only the per-block min and max of {named})" if tensors else ""
        notes.append("Bounded mask: interval arithmetic on a tile's query and key index ranges" + reads +
                     " classifies it as empty, full or partial (conservatively: a tile called empty or full is), so a "
                     "kernel can compute each query block's range of key blocks up front, skip the empty ones and apply "
                     "no mask on the full ones.")
    if density is not None:
        at = f"S = {seq[0]}" if seq[0] == seq[1] else f"S_q = {seq[0]}, S_kv = {seq[1]}"
        notes.append(f"Density: the mask keeps about {100 * density:.0f}% of (q_idx, kv_idx) pairs at {at} (the first "
                     "benchmark shape)" + (": most tiles are empty, so the work is in skipping them cheaply."
                                           if density < 0.35 else "."))
    return notes


def structure_notes(mods: Mods, params: Optional[Mapping[str, Any]] = None, seq: Tuple[int, int] = (4096, 4096)) -> List[str]:
    """The notes for one variant's mods (params: problem.json's, for the mask's density; seq: (S_q, S_kv) of the
    first benchmark shape, where the density is estimated)."""
    band = _band_note(mods)
    return ([band] if band else []) + _mask_notes(mods, params or {}, seq)


def benchmark_seq(problem_dir: str) -> Tuple[int, int]:
    """(S_q, S_kv) of a problem's first benchmark shape (problem.json), 4096 each when it names none."""
    try:
        with open(os.path.join(problem_dir, "problem.json")) as f:
            shape = json.load(f)["shapes"]["benchmark"][0]
        return int(shape["S"]), int(shape.get("Skv", shape["S"]))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return 4096, 4096


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
    sys.stdout.write(json.dumps(structure_notes(mods, params, benchmark_seq(a.problem))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
