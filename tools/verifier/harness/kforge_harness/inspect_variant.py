"""The `inspect_variant` job: import a user's variant files (here, in the sandboxed harness, never in kforge's
own process), find or build their mods, name and describe the tensors they capture, check that the factory is
reproducible from its seed, evaluate the mods once, and lower them to the kernel IR through make_fx.

Job: problem = a draft spec whose "variant" block names, per kind, {"file", "symbol" (or null: find it)} and
whose shapes.correctness are the shapes to build at; reference_path = any path inside the problem folder.
Result: {"status": "variant", "errors": [...], "variant": {...the resolved block...}, "notes", "features", "ir"}.
Errors are the user's to fix (file, line, message); a mod that only fails to lower is not an error: "ir" is
then null and "irError" says what and where.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, List, Literal, Optional, Set, Tuple, TypedDict, Union, cast

import torch

from . import lower_fx, trace_mods
from . import variant as V
from . import variant_build as VB
from .ir_features import features
from .shape_lift import DEFAULT_KEY, merge
from .protocol import Job
from .types import (CapturedTensor, DraftProblem, IRDocument, IRNode, IRTensor, ModSource, ProblemSpec, Result, Shape,
                    ShapeKey, VariantBlock, VariantDraft, VariantReport)

SYMBOLS: Tuple[ShapeKey, ...] = ("S", "Skv", "H", "Hkv", "B", "D")  # the first that fits names a dimension
DERIVED_FROM: Tuple[ShapeKey, ...] = ("S", "Skv", "H", "B")  # the symbols a dimension may follow through a formula

Kind = Literal["score", "mask"]
KINDS: Tuple[Kind, Kind] = ("score", "mask")


class _ShapeIR(TypedDict):
    """The mods lowered at one shape (an IRDocument but for the version)."""

    score: Optional[IRNode]
    mask: Optional[IRNode]
    scalars: List[str]
    tensors: Dict[str, IRTensor]


def inspect_variant(job: Job) -> Result:
    """The job: the problem folder is the reference path's; job.problem is scaffold.ts's draft."""
    report = inspect_folder(cast(DraftProblem, job.problem), os.path.dirname(os.path.abspath(job.reference_path)))
    return cast(Result, report)  # a JSON object, as every mode's result


def inspect_folder(problem: DraftProblem, folder: str) -> VariantReport:
    """The report on the draft problem's variant files in `folder` (errors as data, never raised)."""
    try:
        return _inspect(problem, folder)
    except V.VariantError as err:
        return {"status": "variant", "errors": [err.as_dict()], "variant": None, "notes": [], "features": [], "ir": None}


def _inspect(problem: DraftProblem, folder: str) -> VariantReport:
    draft = problem["variant"]
    shapes = problem["shapes"]["correctness"]
    files = sorted({os.path.join(folder, src["file"]) for k in KINDS if (src := draft.get(k))})
    notes: List[str] = []
    resolved = {k: _resolve(draft, k, folder) for k in KINDS}
    # the draft's block with each kind's source resolved; "captured" is filled in below
    spec = cast(VariantBlock, {**draft, "score": resolved["score"], "mask": resolved["mask"], "captured": None})
    _drop_missing_kinds(spec, draft, folder, shapes[0], notes)
    if not spec["score"] and not spec["mask"]:
        raise V.VariantError("defines neither a score_mod nor a mask_mod (nor a factory returning one)", files[0])
    # the draft as a problem with that block (worker.main filled in the schema's defaults; build reads only `variant`)
    prob = cast(ProblemSpec, {**problem, "variant": {**spec, "captured": None}})
    builds = [VB.build(prob, folder, s, "cpu", 0) for s in shapes]
    _check_reproducible(prob, folder, shapes[0], builds[0])
    graphs = {k: trace_mods.trace(getattr(builds[0], k), k, files) for k in ("score", "mask") if getattr(builds[0], k)}
    used = _used_constants(graphs, builds[0])
    captured: List[CapturedTensor] = [{"name": n, "dtype": str(t.dtype).replace("torch.", ""), "dims": _dims(n, builds, shapes)}
                                      for n, t in builds[0].tensors.items() if n in used]
    spec["captured"] = captured
    _evaluate_once(builds[min(1, len(builds) - 1)], shapes[min(1, len(shapes) - 1)], files)
    ir, ir_error = _lower(graphs, builds, shapes, files)
    feats = features(ir.get("score"), ir.get("mask")) if ir else []
    report: VariantReport = {"status": "variant", "errors": [], "variant": spec, "notes": notes, "features": feats, "ir": ir}
    if ir_error:
        report["irError"] = ir_error
    return report


def _resolve(draft: VariantDraft, kind: Kind, folder: str) -> Optional[ModSource]:
    src = draft.get(kind)
    if not src:
        return None
    path = os.path.join(folder, src["file"])
    module = V.load_module(path)
    found = V.find_source(module, path, kind, src.get("symbol"))
    other_kind: Kind = "mask" if kind == "score" else "score"
    if found is not None and not found["factory"]:
        fn = getattr(module, found["symbol"])
        if V.positional_arity(fn) == V.ARITY[other_kind]:
            if draft.get(other_kind) == src:  # --variant FILE:NAME: one function, the kind its arguments say
                return None
            raise V.VariantError(f"`{found['symbol']}` takes {V.ARITY[other_kind]} arguments, as a {other_kind}_mod does, "
                                 f"not {V.ARITY[kind]} as a {kind}_mod: pass it with --{other_kind}-mod", path,
                                 fn.__code__.co_firstlineno)
    if found is None:
        other: Kind = "mask" if kind == "score" else "score"
        same = _draft_file(draft, other) == src["file"]
        if same:
            return None  # one file given for both: it need not have both
        has_other = V.find_source(module, path, other, None) if not src.get("symbol") else None
        hint = f" (it has a {other}_mod: pass it with --{other}-mod)" if has_other else ""
        raise V.VariantError(f"no {kind}_mod found{hint}: define `{kind}_mod` at module level or a factory "
                             f"generate_*(...) returning it", path)
    return found


def _draft_file(draft: VariantDraft, kind: Kind) -> Optional[str]:
    """The file the draft names for `kind`, or None."""
    src = draft.get(kind)
    return src.get("file") if src else None


def _drop_missing_kinds(spec: VariantBlock, draft: VariantDraft, folder: str, shape: Shape, notes: List[str]) -> None:
    """A factory names what it returns only when called: drop a kind it does not return when the same file was
    also given for the other kind; note a mod returned but not asked for."""
    for kind in KINDS:
        src = spec.get(kind)
        if not src or not src["factory"]:
            continue
        path = os.path.join(folder, src["file"])
        fn = getattr(V.load_module(path), src["symbol"])
        got = VB.call_factory(fn, path, shape, "cpu", 0)
        other: Kind = "mask" if kind == "score" else "score"
        if kind not in got:
            if _draft_file(draft, other) == src["file"]:
                spec[kind] = None
            else:
                raise V.VariantError(f"factory {src['symbol']} returns no {kind}_mod (it returns: "
                                     f"{', '.join(k + '_mod' for k in got) or 'nothing'})", path, fn.__code__.co_firstlineno)
        if other in got and not spec.get(other):
            notes.append(f"{src['file']}: {src['symbol']} also returns a {other}_mod, not used; pass the file as "
                         f"--{other}-mod too to use it")


def _check_reproducible(prob: ProblemSpec, folder: str, shape: Shape, first: VB.Built) -> None:
    again = VB.build(prob, folder, shape, "cpu", 0)
    for name, t in first.tensors.items():
        u = again.tensors.get(name)
        if u is None or u.shape != t.shape or u.dtype != t.dtype or not torch.equal(u, t):
            raise V.VariantError(f"captured tensor `{name}` differs between two builds with the same seed: draw random "
                                 "values from the `generator` (or `seed`) kforge passes the factory, so runs are reproducible",
                                 # _inspect refused a variant with neither mod
                                 os.path.join(folder, cast(ModSource, prob["variant"]["score"] or prob["variant"]["mask"])["file"]))


def _used_constants(graphs: Dict[str, torch.fx.GraphModule], built: VB.Built) -> Set[str]:
    ids: Set[int] = set()
    for gm in graphs.values():
        for node in gm.graph.nodes:
            if node.op == "get_attr":
                ids.add(id(getattr(gm, node.target)))
    return {n for n, t in built.tensors.items() if id(t) in ids}


def _dims(name: str, builds: List[VB.Built], shapes: List[Shape]) -> List[Union[int, str]]:
    """Each dimension as a shape symbol when it follows one at every shape (S when S_q == S_kv throughout), else
    the number."""
    out: List[Union[int, str]] = []
    for d in range(builds[0].tensors[name].dim()):
        sizes: List[int] = [b.tensors[name].shape[d] for b in builds]
        sym: Optional[str] = None
        for s in SYMBOLS:
            if all(size == (sh.get(s) or sh[DEFAULT_KEY.get(s, s)]) for size, sh in zip(sizes, shapes)):
                sym = s
                break
        if sym == "S" and any((sh.get("Skv") or sh["S"]) != sh["S"] for sh in shapes):
            sym = "S_q"
        out.append(sym or (int(sizes[0]) if len(set(sizes)) == 1 else _derived(sizes, shapes)))
    return out


def _derived(sizes: List[int], shapes: List[Shape]) -> str:
    """A dimension that follows a shape symbol through a simple formula (ceil(S/64), 2*S-1, S+1), else its sizes."""
    for sym in DERIVED_FROM:
        vals = [sh.get(sym) or sh[DEFAULT_KEY.get(sym, sym)] for sh in shapes]
        for k in (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
            if all(size == -(-v // k) for size, v in zip(sizes, vals)):
                return f"ceil({sym}/{k})"
        formulas: Tuple[Tuple[str, Callable[[int], int]], ...] = (
            (f"2*{sym}-1", lambda v: 2 * v - 1), (f"{sym}+1", lambda v: v + 1), (f"{sym}-1", lambda v: v - 1))
        for text, fn in formulas:
            if all(size == fn(v) for size, v in zip(sizes, vals)):
                return text
    return f"varies with the shape ({', '.join(map(str, sizes))})"


def _evaluate_once(built: VB.Built, shape: Shape, files: List[str]) -> None:
    """The mods evaluated over a small score matrix, as the reference will: they must run element-wise."""
    s_kv = shape.get("Skv") or shape["S"]
    q = torch.randn(shape["B"], shape["H"], shape["S"], 16, dtype=torch.float64)
    kv = torch.randn(shape["B"], shape.get("Hkv") or shape["H"], s_kv, 16, dtype=torch.float64)
    try:
        out = VB.evaluate(q, kv, kv, 0.25, built)
    except V.VariantError:
        raise
    except BaseException as exc:  # noqa: BLE001
        err = V.user_fault(exc, files, "evaluating the mods over the score matrix raised")
        if s_kv != shape["S"] and isinstance(exc, IndexError):
            err.message += f" (at S_q={shape['S']}, S_kv={s_kv}: does the factory size for S what the keys index with S_kv?)"
        raise err from None
    if out.shape != q.shape:
        raise V.VariantError(f"the mods evaluate to a wrong shape {list(out.shape)}", files[0])


def _lower(graphs: Dict[str, torch.fx.GraphModule], builds: List[VB.Built], shapes: List[Shape],
           files: List[str]) -> Tuple[Optional[IRDocument], Optional[str]]:
    """(IR document, None) or (None, why): the mods lowered at every correctness shape; numbers that follow the
    shape are lifted to shape scalars (shape_lift.py), anything else that differs between shapes is refused."""
    docs: List[_ShapeIR] = []
    for i, b in enumerate(builds):
        names = {id(t): n for n, t in b.tensors.items()}
        gs = graphs if i == 0 else {k: trace_mods.trace(getattr(b, k), k, files) for k in graphs}
        try:
            low = {k: lower_fx.lower(gm, k, names, files) for k, gm in gs.items()}
        except lower_fx.LowerError as err:
            return None, err.message
        tensors: Dict[str, IRTensor] = {}
        for lo in low.values():
            tensors.update(lo.tensors)
        docs.append({"score": low["score"].ir if "score" in low else None, "mask": low["mask"].ir if "mask" in low else None,
                     "scalars": sorted({n for lo in low.values() for n in lo.scalars}), "tensors": dict(sorted(tensors.items()))})
    used: Set[str] = set()
    merged = {k: merge([d[k] for d in docs], shapes, used) for k in KINDS}
    if any(merged[k] is None and docs[0][k] is not None for k in merged) or any(d["tensors"] != docs[0]["tensors"] for d in docs):
        return None, ("the mods lower to different expressions at different shapes, in a way that does not follow one shape "
                      "number (e.g. a loop over range(S), or a number computed from several sizes); the offline template "
                      "needs one expression for every shape: clamp indices to a fixed size or capture a tensor instead")
    doc: IRDocument = {"version": 1, "score": merged["score"], "mask": merged["mask"],
                       "scalars": sorted(set(docs[0]["scalars"]) | used), "tensors": docs[0]["tensors"]}
    return doc, None
