"""The generated part of a candidate module: the template's hook functions, written from the mods' typed IR.

Hooks (fixed signatures, called by kernel_template.py): `_prologue` (row-constant values U, once per program),
`_score` / `_score_lin` / `_score_scaled` (the log2-domain score in the template's three softmax forms),
`_colbias`, `_qscale`, `_mask`, `_classify_q` / `_classify` (interval bounds of a tile), the grid versions
`_prologue_grid` / `_mask_grid` / `_classify_grid`, and the host's `_host_args` (the run-time tuple P the
kernel hooks read: captured scalars, tensors with strides and sizes, per-block bounds) and `_host_consts`.
A hook the config does not reach stays a stub the kernel never calls (its constexpr branch is pruned).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union, cast

from emit import Elementwise, Intervals, lit, tensor_args
from ir import Bin, Mods, Neg, Node, Num, Param, Var
from lower import deps, drop_row_constants, grid_layout, has_inf, linear_factor, lower_score, normalize, prescale, \
    scaled_factor, score_bands, split_kv_affine, tanh_bound

if TYPE_CHECKING:
    from config import Config

# Scalars a front end lifted from the shape (kforge_harness/shape_lift.py): read from q's and k's shapes, not params.
SHAPE_SCALARS = {"shape_B": "q.shape[0]", "shape_H": "q.shape[1]", "shape_S": "q.shape[2]", "shape_D": "q.shape[3]",
                 "shape_Hkv": "k.shape[1]", "shape_S_kv": "k.shape[2]"}
GRID_CLASSIFY_PRELUDE = "k_lo = kr_lo + kc_lo  # (only its shape and sign are used: constant booleans)"
# _score_bands' offsets for a side without a band: no key block lies beyond them (int32-safe for any sequence)
NO_BAND_LO, NO_BAND_HI = -(1 << 30), 1 << 30


# A tuple a hook reads, unpacked by index: its name in the hook's signature and its elements' names.
Unpack = Tuple[str, List[str]]


def host_expr(n: Node) -> str:
    """Python source for a host-constant IR node (numbers, captured scalars and the scale)."""
    if isinstance(n, Num):
        return lit(n.value)
    if isinstance(n, Param):
        return f"float(_host_scalar(params[{n.name!r}]))"
    if isinstance(n, Var):
        return "float(scale)"
    if isinstance(n, Neg):
        return f"(-{host_expr(n.a)})"
    b = cast(Bin, n)  # a host-constant node (lower.host_constant) is one of these or a + - * / of two of them
    return f"({host_expr(b.a)} {b.op} {host_expr(b.b)})"


def _fn(signature: str, comment: str, body: Sequence[str], ret: str, unpack: Sequence[Unpack] = ()) -> str:
    """A @triton.jit hook: the tuples it reads unpacked by index (only the names the body uses), then the body."""
    text = "\n".join(body) + "\n" + ret
    used = set(re.findall(r"\b\w+\b", text))
    lines = [f"{name} = {tup}[{i}]" for tup, names in unpack for i, name in enumerate(names) if name in used]
    out = ["", "", "@triton.jit", f"def {signature}:", f"    # {comment}"]
    out += ["    " + ln for ln in lines + list(body)] + [f"    return {ret}"]
    return "\n".join(out)


class Hooks:
    """Lowers one variant under one resolved config; `source()` is the hooks' text, `constexprs()` their switches."""

    kv_bounded: List[str]  # tensors indexed by kv_idx whose per-block min/max the classifier reads
    q_bounded: List[str]  # the same indexed by q_idx

    def __init__(self, mods: Mods, cfg: Config) -> None:
        self.mods, self.cfg = mods, cfg
        tanh = "bf16x2" if cfg["tanh_bf16x2"] else "fast" if cfg["fast_tanh"] else "exact"
        self.tanh = tanh
        info = mods.tensor_info()
        self.p_names = [f"p_{s}" for s in mods.scalars]
        for t in sorted(info):
            self.p_names += tensor_args(t, info[t].rank)
        self.mask = normalize(mods.mask, info)
        s2 = drop_row_constants(lower_score(mods.score, info))
        self.bound = tanh_bound(s2) if cfg["static_max"] else None
        qscale = prescale(s2) if cfg["qscale"] else None
        self.qfactor: Optional[Node] = None
        if qscale:
            s2, self.qfactor = qscale
        linear = linear_factor(s2)  # before the kv-affine split: a split-off bias term keeps the online form
        ew = self.ew = Elementwise(tanh=tanh, info=info)
        self.grid = grid_layout(self.mask) if cfg["grid2d"] else None
        # affine_kv_bias hoists a column vector of a contiguous key block: not for the 2-D layout's gathered keys
        affine = split_kv_affine(s2) if cfg["affine_kv_bias"] and self.bound is None and self.grid is None else None
        self.colbias: Optional[Tuple[str, str]] = None
        if affine is not None and linear_factor(s2) is None and scaled_factor(s2) is None:
            s2, coeff = affine
            ew.prologue.append(f"_colb = offs_n[None, :].to(tl.float32) * {ew(coeff)}  # kv-affine bias, block-invariant")
            self.colbias = ("_colb", ew(coeff))
        self.s2 = s2
        # a score that ignores the dot product (a pure bias) still has to be a [BLOCK_M, BLOCK_N] tile
        self.score_text = self._tile_text(s2)
        # key blocks where the score's clamps of kv_idx - q_idx saturate take a score with them folded (lower.score_bands)
        self.bands = score_bands(s2) if cfg["score_bands"] and linear is None else None
        # without bands the kernel never reaches _score_lo / _score_hi (stubs); a side without a band has an empty loop
        self.band_texts = {side: "qk" if not self.bands else
                           self._tile_text(self.bands[side][1]) if self.bands[side] else self.score_text
                           for side in ("lo", "hi")}
        self.scaled = scaled_factor(s2) if linear is None else None
        self.mode = "linear" if (linear is not None or s2 == Var("qk")) else "online"
        self.lin: Optional[Tuple[str, str]] = ("qk", "1") if s2 == Var("qk") else (("qk", ew(linear)) if linear is not None else None)
        self.lin_scaled = (ew(self.scaled[0]), ew(self.scaled[1])) if self.scaled is not None else None
        self.mask_text = ew(self.mask) if self.mask is not None else None
        self.qfactor_text = ew.in_prologue(self.qfactor) if self.qfactor is not None else None  # _qscale sees only U
        self.kv_bounded, self.q_bounded = [], []
        self.classify = self._classifier() if self.mask is not None else None

    def _tile_text(self, s2: Node) -> str:
        # a score that ignores the dot product (a pure bias) still has to be a [BLOCK_M, BLOCK_N] tile
        return self.ew(s2) if "qk" in deps(s2) else f"({self.ew(s2)} + qk * 0.0)"

    def _band_offsets(self) -> str:
        lo = self.bands["lo"][0] if self.bands and self.bands["lo"] else NO_BAND_LO
        hi = self.bands["hi"][0] if self.bands and self.bands["hi"] else NO_BAND_HI
        return f"{lo}, {hi}"

    def _classifier(self) -> Tuple[List[str], str, str]:
        cls_ew = Elementwise(prefix="_c", tanh=self.tanh)
        iv = Intervals(cls_ew)
        may, must = iv.boolean(cast(Node, self.mask))  # called only when there is a mask
        self.kv_bounded, self.q_bounded = sorted(iv.kv_tensors), sorted(iv.q_tensors)
        return cls_ew.prologue + iv.lines, may, must

    def constexprs(self) -> Dict[str, Union[bool, int]]:
        """The kernel switches this variant and config fix (the `_CFG` block, less the poly settings)."""
        m, c = self.mask, self.cfg
        return dict(STEP=1 if self.mode == "linear" else 0, SAFE=has_inf(self.s2), QSCALE=self.qfactor is not None,
                    COLBIAS=self.colbias is not None, HAS_MASK=m is not None, MASK_SPLIT=c["mask_split"],
                    SKIP_EMPTY=m is not None and c["skip_empty"],
                    BLOCK_SPARSE=m is not None and c["block_sparse"],
                    MASK_B=m is not None and "b" in deps(m), MASK_H=m is not None and "h" in deps(m),
                    REVERSE_M=c["reverse_m"], TMA=c["tma"], GRID2D=self.grid is not None, BANDS=self.bands is not None)

    def summary(self) -> str:
        """One line for KFORGE_RENDER (the memory's seeding reads 'score_mod X; mask_mod Y')."""
        parts = ["score_mod " + ("none" if self.mods.score is None else "translated"),
                 "mask_mod " + ("none" if self.mask is None else "translated, interval block skipping"),
                 f"softmax {self.mode}" + (", static max for bounded scores" if self.bound is not None else "")]
        if self.bands:
            parts.append("score banded beyond offsets " + " / ".join(
                f"kv - q {op} {self.bands[side][0]}" for side, op in (("lo", "<="), ("hi", ">=")) if self.bands[side]))
        return "; ".join(parts)

    def source(self) -> str:
        """Every hook's text, in the template's order."""
        P: Unpack = ("P", self.p_names)
        U_names = [ln.split(" = ", 1)[0] for ln in self.ew.prologue]
        U: Unpack = ("U", U_names)
        stub_lin = "qk, 1.0"
        out = [
            _fn("_prologue(b, h, q_idx, offs_n, sm_scale, P)",
                "values constant along a query row (computed once per program, not once per key block)",
                self.ew.prologue, "(" + ", ".join(U_names or ["sm_scale"]) + ",)", [P]),
            _fn("_score(qk, b, h, q_idx, kv_idx, sm_scale, U, P)", "the log2-domain score s2 = log2(e) * score_mod",
                [], self.score_text, [U, P]),
            _fn("_score_lo(qk, b, h, q_idx, kv_idx, sm_scale, U, P)",
                "s2 on key blocks with kv_idx - q_idx <= the low offset of _score_bands (the clamps saturated)", [],
                self.band_texts["lo"], [U, P]),
            _fn("_score_hi(qk, b, h, q_idx, kv_idx, sm_scale, U, P)",
                "s2 on key blocks with kv_idx - q_idx >= the high offset of _score_bands (the clamps saturated)", [],
                self.band_texts["hi"], [U, P]),
            _fn("_score_bands()", "(low, high) offsets kv_idx - q_idx beyond which _score_lo / _score_hi hold", [],
                self._band_offsets()),
            _fn("_score_lin(qk, b, h, q_idx, kv_idx, sm_scale, U, P)", "(x, c): s2 = x * c, c > 0 uniform", [],
                f"{self.lin[0]}, {self.lin[1]}" if self.lin else stub_lin, [U, P]),
            _fn("_score_scaled(qk, b, h, q_idx, kv_idx, sm_scale, U, P)",
                "(x, c): s2 = x * c for a host constant c (taken when the host finds c > 0)", [],
                f"{self.lin_scaled[0]}, {self.lin_scaled[1]}" if self.lin_scaled else stub_lin, [U, P]),
            _fn("_colbias(U)", "(column vector, coefficient) of the kv-affine score term", [],
                f"{self.colbias[0]}, {self.colbias[1]}" if self.colbias else "0.0, 0.0", [U]),
            _fn("_qscale(U)", "the score's uniform factor, folded into q", [], self.qfactor_text or "1.0", [U]),
            _fn("_mask(b, h, q_idx, kv_idx, U, P)", "the element mask (kept pairs)", [],
                self.mask_text or "kv_idx >= 0", [U, P]),
        ]
        out += self._classify_hooks(P)
        out += self._grid_hooks(P, U)
        out += [self._host_args(), self._host_consts()]
        return "\n".join(out).lstrip("\n")

    def _classify_hooks(self, P: Unpack) -> List[str]:
        qb_names = [x for t in self.q_bounded for x in (f"qmin_{t}", f"qmax_{t}")]
        q_lines: List[str] = []
        for t in self.q_bounded:
            q_lines += [f"_qv_{t} = tl.load(t_{t} + tl.minimum(offs_m, tl.minimum(S_Q, t_{t}_n0) - 1) * t_{t}_s0)",
                        f"qmin_{t} = tl.min(_qv_{t}, 0)", f"qmax_{t} = tl.max(_qv_{t}, 0)"]
        out = [_fn("_classify_q(offs_m, S_Q, P)", "per query block: bounds of the q-indexed tensors the classifier reads",
                   q_lines, "(" + ", ".join(qb_names or ["S_Q"]) + ",)", [P])]
        body: List[str]
        if self.classify is None:
            body, may, must = [], "k_lo >= 0", "k_lo >= 0"
        else:
            body, may, must = self.classify
            body = [ln for t in self.kv_bounded for ln in (
                f"kmin_{t} = tl.load(t_{t}_kmin + kb, mask=kb_ok, other=0)",
                f"kmax_{t} = tl.load(t_{t}_kmax + kb, mask=kb_ok, other=0)")] + body
        out.append(_fn("_classify(q_lo, q_hi, k_lo, k_hi, kb, kb_ok, b, h, QB, P)",
                       "(may, must): may some (q, kv) of the tile be kept; are all kept. Scalars or per-block vectors",
                       body, f"{may}, {must}", [("QB", qb_names), ("P", self.p_names + self._kv_bound_names())]))
        return out

    def _kv_bound_names(self) -> List[str]:
        return [x for t in self.kv_bounded for x in (f"t_{t}_kmin", f"t_{t}_kmax")]

    def _grid_hooks(self, P: Unpack, U: Unpack) -> List[str]:
        if self.grid is None:
            return [_fn("_prologue_grid(b, h, q_idx, q_row, q_col, P)", "row-constant values of the grid mask", [],
                        "(q_row,)", [P]),
                    _fn("_mask_grid(b, h, q_row, q_col, kv_row, kv_col, q_idx, kv_idx, U, W, P)",
                        "the mask in grid coordinates", [], "kv_idx >= 0", [P]),
                    _fn("_classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, kr_lo, kr_hi, kc_lo, kc_hi, b, h, P)",
                        "(may, must) over grid rectangles", [], "kr_lo >= 0, kr_lo >= 0", [P])]
        _, grid_ir = self.grid
        gew = Elementwise(prefix="_w", tanh=self.tanh, info=self.mods.tensor_info())  # the mask in grid coordinates: no division per key block
        keep = gew(grid_ir)
        W: Unpack = ("W", [ln.split(" = ", 1)[0] for ln in gew.prologue])
        giv = Intervals(Elementwise(prefix="_g", tanh=self.tanh))
        gmay, gmust = giv.boolean(grid_ir)
        body = giv.scalar.prologue + giv.lines
        if "k_lo" in " ".join(body + [gmay, gmust]):  # an unbounded part of the mask reads it
            body = [GRID_CLASSIFY_PRELUDE] + body
        return [_fn("_prologue_grid(b, h, q_idx, q_row, q_col, P)", "row-constant values of the grid mask",
                    gew.prologue, "(" + ", ".join(W[1] or ["q_row"]) + ",)", [P]),
                _fn("_mask_grid(b, h, q_row, q_col, kv_row, kv_col, q_idx, kv_idx, U, W, P)",
                    "the mask in grid coordinates", [], keep, [U, W, P]),
                _fn("_classify_grid(qr_lo, qr_hi, qc_lo, qc_hi, kr_lo, kr_hi, kc_lo, kc_hi, b, h, P)",
                    "(may, must) over a rectangle of query rows/columns and one of key rows/columns of the 2-D grid",
                    body, f"{gmay}, {gmust}", [P])]

    def _host_args(self) -> str:
        info = self.mods.tensor_info()
        # scalars are numbers (problem.json params, shape scalars); a traced variant's 0-d capture is a rank-0 tensor
        # read in the kernel, and only mods.json documents older than that name one as a scalar (_host_scalar)
        lines = [f"    p_{s} = {SHAPE_SCALARS.get(s, f'_host_scalar(params[{s!r}])')}" for s in self.mods.scalars]
        lines += [f"    t_{t} = params[{t!r}]" for t in sorted(info)]
        for t in self.kv_bounded:
            lines += [f"    t_{t}_kmin = torch.empty((triton.cdiv(k.shape[2], block_n),), dtype=t_{t}.dtype, "
                      f"device=q.device)",
                      f"    t_{t}_kmax = torch.empty_like(t_{t}_kmin)",
                      f"    _block_minmax[(triton.cdiv(k.shape[2], block_n),)](t_{t}, t_{t}.stride(0), t_{t}_kmin, "
                      f"t_{t}_kmax, min(k.shape[2], t_{t}.shape[0]), BLOCK=block_n)"]
        items = [f"p_{s}" for s in self.mods.scalars]
        for t in sorted(info):
            items += [f"t_{t}", f"*t_{t}.stride()", f"*t_{t}.shape"]
        items += self._kv_bound_names()
        ret = "(" + ", ".join(items or ["0"]) + ",)"
        doc = '    """The hooks\' run-time arguments P: captured scalars, tensors with strides and sizes, block bounds."""'
        helper = ["", "", "_HOST_SCALARS = {}", "", "",
                  "def _host_scalar(x):",
                  '    """A number as the kernel takes it: a 0-d tensor is read on the host once per version (no device',
                  '    sync per call; an in-place change bumps the version and is read again)."""',
                  "    if not torch.is_tensor(x):",
                  "        return x",
                  "    hit = _HOST_SCALARS.get(id(x))",
                  "    if hit is None or hit[0]() is not x or hit[1] != x._version:",
                  "        hit = _HOST_SCALARS[id(x)] = (weakref.ref(x), x._version, x.item())",
                  "    return hit[2]"]
        return "\n".join([*helper, "", "", "def _host_args(q, k, v, scale, params, block_n):", doc, *lines, f"    return {ret}"])

    def _host_consts(self) -> str:
        m_static = f"abs({host_expr(self.bound)})" if self.bound is not None else "None"
        lin_pos = f"({host_expr(self.scaled[1])}) > 0" if self.scaled is not None else "False"
        gw = host_expr(self.grid[0]) if self.grid is not None else "None"
        return "\n".join(["", "", "def _host_consts(scale, params):",
                          '    """(m_static: |s2| bound or None, lin_pos: s2 = x * c with c > 0, 2-D grid width or None)."""',
                          f"    return {m_static}, {lin_pos}, {gw}"])
