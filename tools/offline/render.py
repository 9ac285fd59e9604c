"""Render a complete candidate module for a problem from the offline template and a config.

    python3 tools/offline/render.py --problem problems/softcap --config '{"BLOCK_M":128,"num_warps":8}'

prints the module (stdout); a problem outside the translatable subset exits 2 with the reason.
Pure text generation: neither torch nor triton is imported.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from config import ConfigError, resolve  # noqa: E402
from emit import Elementwise, Intervals, lit  # noqa: E402
from lower import deps, drop_row_constants, estimate_density, grid_layout, has_inf, lower_score, \
    linear_factor, prescale, scaled_factor, split_kv_affine, tanh_bound  # noqa: E402
import template as T  # noqa: E402
from translate import TranslateError, translate_factory  # noqa: E402


def _walk(n):
    yield n
    for c in n[1:]:
        if isinstance(c, tuple) and c and isinstance(c[0], str):
            yield from _walk(c)
        elif isinstance(c, tuple):
            for a in c:
                if isinstance(a, tuple):
                    yield from _walk(a)


def features_of(score, mask, params=None):
    """Problem features that pick default tiles and switches (params: problem.json's, for mask density)."""
    f = set()
    if score.ir is not None:
        f.add("score_mod")
    if score.ir is not None and any(n[0] == "call" and n[1] == "tanh" for n in _walk(score.ir)):
        f.add("tanh")
    if mask.ir is not None:
        f.add("mask")
        if any((n[0] == "load" and "kv_idx" in deps(n)) or (n[0] == "bin" and n[1] in ("//", "%"))
               for n in _walk(mask.ir)):
            f.add("irregular_mask")
        density = estimate_density(mask.ir, params or {})
        if density is None or density < 0.35:
            f.add("sparse_mask")
        if grid_layout(mask.ir) is not None:
            f.add("grid2d")
    return f


def host_expr(n):
    """Python source for a host-constant IR node (numbers and scale only)."""
    t = n[0]
    if t == "num":
        return lit(n[1])
    if t == "param":
        return f"float(params[{n[1]!r}])"
    if t == "var":
        return "float(scale)"
    if t == "neg":
        return f"(-{host_expr(n[1])})"
    return f"({host_expr(n[2])} {n[1]} {host_expr(n[3])})"


def _loop_body(score_text, keep, mode, *, bound, scaled, lin, lin_scaled, safe, colbias, tma, poly, ind, gather=False):
    """One key block's step, wrapped in the host-chosen branches (STATIC_MAX, LIN_POS) at indent ind."""
    out = ""
    if bound is not None:
        out += " " * ind + "if STATIC_MAX:\n" + T.indent(T.step(score_text, keep, "static", tma=tma, poly=poly,
                                                                gather=gather), ind + 4)
        out += " " * ind + "else:\n"
        ind += 4
    if scaled is not None:
        out += " " * ind + "if LIN_POS:\n" + T.indent(T.step(score_text, keep, "linear", safe=safe, linear=lin_scaled,
                                                              tma=tma, poly=poly, gather=gather), ind + 4)
        out += " " * ind + "else:\n"
        ind += 4
    out += T.indent(T.step(score_text, keep, mode, safe=safe, linear=lin, colbias=colbias, tma=tma, poly=poly,
                           gather=gather), ind)
    return out + (T.indent(T.GRID_ADVANCE.splitlines(), 8) if gather else "")


def resolve_config(problem_dir, config=None):
    """The full config a render would use (every tile and switch) plus the problem's features."""
    with open(os.path.join(problem_dir, "reference.py")) as f:
        src = f.read()
    spec_path = os.path.join(problem_dir, "problem.json")
    params = json.load(open(spec_path)).get("params", {}) if os.path.exists(spec_path) else {}
    feats = features_of(translate_factory(src, "score"), translate_factory(src, "mask"), params)
    cfg = resolve(config or {}, feats)
    return {"tiles": {str(d): t for d, t in cfg["tiles"].items()},
            "switches": {k: v for k, v in cfg.items() if k != "tiles"}, "features": sorted(feats)}


def render(problem_dir, config=None, poly_split="half", poly_max_d=256):
    """The candidate module's source for the problem in problem_dir under config (dict or JSON string).

    poly_split / poly_max_d: how much of the tile the poly_exp2 switch moves to the FMA pipe (template.POLY_SPLITS)
    and up to which head dim (bench/offline/poly_variants.py renders the alternatives it was measured against).
    """
    with open(os.path.join(problem_dir, "reference.py")) as f:
        src = f.read()
    name = os.path.basename(os.path.normpath(problem_dir))
    score, mask = translate_factory(src, "score"), translate_factory(src, "mask")
    spec_path = os.path.join(problem_dir, "problem.json")
    params = json.load(open(spec_path)).get("params", {}) if os.path.exists(spec_path) else {}
    feats = features_of(score, mask, params)
    cfg = resolve(config or {}, feats)
    scalars = sorted(score.scalars | mask.scalars)
    tensors = sorted(score.tensors | mask.tensors)

    s2 = drop_row_constants(lower_score(score.ir))
    bound = tanh_bound(s2) if cfg["static_max"] else None
    qscale = prescale(s2) if cfg["qscale"] else None
    if qscale:
        s2, qfactor = qscale
    linear = linear_factor(s2)
    ew = Elementwise()
    grid = grid_layout(mask.ir) if cfg["grid2d"] else None
    # affine_kv_bias hoists a column vector of a contiguous key block: not for the 2-D layout's gathered keys
    colbias, affine = None, split_kv_affine(s2) if cfg["affine_kv_bias"] and bound is None and grid is None else None
    if affine is not None and linear_factor(s2) is None and scaled_factor(s2) is None:
        s2, coeff = affine
        ew.prologue.append(f"_colb = offs_n[None, :].to(tl.float32) * {ew(coeff)}  # kv-affine bias, block-invariant part")
        colbias = ("_colb", ew(coeff))
    score_text = ew(s2)
    scaled = scaled_factor(s2) if linear is None else None
    mode = "linear" if (linear is not None or s2 == ("var", "qk")) else "online"
    lin = ("qk", "1") if s2 == ("var", "qk") else (("qk", ew(linear)) if linear is not None else None)
    if scaled is not None:  # linear in a non-linear x (tanh-capped scores), when the host finds c > 0
        lin_scaled = (ew(scaled[0]), ew(scaled[1]))
    keep_text = "kv_ok[None, :]"
    if mask.ir is not None:
        keep_text = f"{ew(mask.ir)} & kv_ok[None, :]"
    qscale_line = f"q = (q * {ew(qfactor)}).to(Q.dtype.element_ty)  # qscale: fold the score's factor into q\n" \
        if qscale else ""

    pieces = [T.HEADER.format(problem=name, summary=_summary(score, mask, mode, bound),
                              config=json.dumps(config if isinstance(config, dict) else json.loads(config or "{}")))]
    if any(n[0] == "call" and n[1] == "tanh" for ir in (s2, mask.ir) if ir is not None for n in _walk(ir)):
        pieces.append(T.TANH_BF16X2 if cfg["tanh_bf16x2"] else T.TANH_FAST if cfg["fast_tanh"] else T.TANH_EXACT)
    if cfg["poly_exp2"]:
        pieces.append(T.poly_exp2_helpers(poly_split))

    param_args = "".join(f", p_{p}" for p in scalars) + "".join(f", t_{t}, t_{t}_len" for t in tensors)
    kv_bounded, ranges, constexprs, call_constexprs = [], T.RANGES_UNMASKED, "", ""
    host = [f"    p_{p} = params[{p!r}]\n" for p in scalars]
    host += [f"    t_{t} = params[{t!r}]\n" for t in tensors]
    if mask.ir is not None:
        cls_ew = Elementwise(prefix="_c")
        iv = Intervals(cls_ew)
        may, must = iv.boolean(mask.ir)
        kv_bounded, q_bounded = sorted(iv.kv_tensors), sorted(iv.q_tensors)
        bound_args = "".join(f", qmin_{t}, qmax_{t}" for t in q_bounded) + \
            "".join(f", kmin_{t}, kmax_{t}" for t in kv_bounded)
        body = cls_ew.prologue + iv.lines
        pieces.append(T.CLASSIFY.format(**T.CLASSIFY_1D, args=param_args + bound_args,
                                        body=T.indent(body, 4).rstrip("\n"),
                                        may=may, must=must))
        if kv_bounded:
            pieces.append(T.BLOCK_MINMAX)
        qb = "".join(f"    _qv_{t} = tl.load(t_{t} + tl.minimum(offs_m, tl.minimum(S, t_{t}_len) - 1))\n"
                     f"    qmin_{t} = tl.min(_qv_{t}, 0)\n    qmax_{t} = tl.max(_qv_{t}, 0)\n" for t in q_bounded)
        vec = param_args + "".join(f", qmin_{t}, qmax_{t}" for t in q_bounded) + "".join(
            f", tl.load(kmin_{t} + jb, mask=blk_ok, other=0), tl.load(kmax_{t} + jb, mask=blk_ok, other=0)"
            for t in kv_bounded)
        ranges = T.RANGES_MASKED.format(qbounds=qb, vec_args=vec, full_range=T.FULL_RANGE_SPLIT
                                        if cfg["mask_split"] else T.FULL_RANGE_NONE)
        constexprs += ", NB_P2: tl.constexpr"
        call_constexprs += ", NB_P2=max(16, triton.next_power_of_2(triton.cdiv(S, block_n)))"
        for t in kv_bounded:
            host.append(f"    kmin_{t} = torch.empty((triton.cdiv(S, block_n),), dtype=t_{t}.dtype, device=q.device)\n"
                        f"    kmax_{t} = torch.empty_like(kmin_{t})\n"
                        f"    _block_minmax[(triton.cdiv(S, block_n),)](t_{t}, kmin_{t}, kmax_{t}, "
                        f"min(S, t_{t}.numel()), BLOCK=block_n)\n")
        skip_args = param_args + "".join(f", qmin_{t}, qmax_{t}" for t in q_bounded) + \
            "".join(f", tl.load(kmin_{t} + j), tl.load(kmax_{t} + j)" for t in kv_bounded)
    kernel_args = param_args + "".join(f", kmin_{t}, kmax_{t}" for t in kv_bounded)
    call_args = "".join(f", p_{p}" for p in scalars) + "".join(f", t_{t}, t_{t}.numel()" for t in tensors) + \
        "".join(f", kmin_{t}, kmax_{t}" for t in kv_bounded)
    if bound is not None:
        kernel_args += ", m_static"
        constexprs += ", STATIC_MAX: tl.constexpr"
        host.append(f"    m_static = abs({host_expr(bound)})  # |log2-domain score| <= m_static\n")
        call_args += ", m_static"
        call_constexprs += ", STATIC_MAX=m_static <= 60.0"  # exp2(-2 * 60) is still a normal fp32

    if scaled is not None:
        constexprs += ", LIN_POS: tl.constexpr"
        host.append(f"    lin_pos = ({host_expr(scaled[1])}) > 0  # s2 = x * c with c > 0: max on x, c in the FMA\n")
        call_constexprs += ", LIN_POS=lin_pos"
    tma, poly = cfg["tma"], cfg["poly_exp2"]
    if poly:  # the host picks per head dim whether the polynomial runs (constexpr: no cost where it does not)
        constexprs += ", POLY_EXP2: tl.constexpr"
        call_constexprs += f", POLY_EXP2=D <= {int(poly_max_d)}"
    if tma:  # descriptors ride after the other arguments; the host falls back to pointers (USE_TMA=False)
        kernel_args += ", desc_k, desc_v"
        call_args += ", *(_descs or (k, v))"
        constexprs += ", USE_TMA: tl.constexpr"
        call_constexprs += ", USE_TMA=_descs is not None"
        host.append("    _descs = _kv_descriptors(k, v, block_n)\n")
    pid_m = "tl.num_programs(0) - 1 - tl.program_id(0)" if cfg["reverse_m"] else "tl.program_id(0)"
    kern = T.KERNEL_HEAD.format(args=kernel_args, constexprs=constexprs, pid_m=pid_m)
    kern += T.TMA_ROW if tma else ""
    kern += T.indent(ew.prologue, 4) + ("    " + qscale_line if qscale_line else "")
    kern += T.ACC_INIT
    kern += ranges
    safe = has_inf(s2)
    skip = mask.ir is not None and cfg["skip_empty"]
    branches = dict(bound=bound, scaled=scaled, lin=lin, lin_scaled=lin_scaled if scaled is not None else None,
                    safe=safe, colbias=colbias, tma=tma, poly=poly)
    for lo, hi, masked in (("lo", "flo", True), ("flo", "fhi", False), ("fhi", "hi", True)):
        keep = keep_text if masked else None
        kern += f"    for j in range({lo}, {hi}):  # {'masked' if masked else 'mask-free'} key blocks\n"
        ind = 8
        if masked and skip:
            kern += (f"        may_j, must_j = _classify(q_lo, q_hi, j * BLOCK_N, "
                     f"tl.minimum(j * BLOCK_N + BLOCK_N, S) - 1, b, h{skip_args})\n        if may_j:\n")
            ind = 12
        kern += _loop_body(score_text, keep, mode, ind=ind, **branches)
    kern += T.EPILOGUE
    pieces.append(kern)
    if grid is not None:
        gw, grid_ir = grid
        giv = Intervals(Elementwise(prefix="_g"))
        gmay, gmust = giv.boolean(grid_ir)
        body = [T.GRID_CLASSIFY_PRELUDE] + giv.scalar.prologue + giv.lines
        pieces.append(T.CLASSIFY.format(**T.CLASSIFY_GRID, args=param_args, body=T.indent(body, 4).rstrip("\n"),
                                        may=gmay, must=gmust))
        gk = T.GRID_HEAD.format(args=kernel_args, constexprs=constexprs.replace(", NB_P2: tl.constexpr", ""))
        gew = Elementwise(prefix="_w")  # the mask in grid coordinates: no division per key block
        grid_keep = f"{gew(grid_ir)} & kv_ok[None, :]"
        gk += T.indent(ew.prologue + gew.prologue, 4) + ("    " + qscale_line if qscale_line else "")
        gk += T.ACC_INIT
        gk += T.GRID_RANGES.format(args=param_args)
        gk += "    for j in range(0, tl.cdiv(n_keys, BLOCK_N)):  # the key rectangle, BLOCK_N keys at a time\n"
        gk += _loop_body(score_text, grid_keep, mode, ind=8, gather=True, **{**branches, "tma": False})
        gk += T.EPILOGUE.replace("mask=offs_m[:, None] < S", "mask=q_ok[:, None]")
        pieces.append(gk)
        host.append(T.GRID_HOST.format(width=host_expr(gw), call_args=call_args, call_constexprs=call_constexprs.replace(
            ", NB_P2=max(16, triton.next_power_of_2(triton.cdiv(S, block_n)))", "")))
    if tma:
        pieces.append(T.TMA_HOST)
    tiles = {d: (t["BLOCK_M"], t["BLOCK_N"], t["num_warps"], t["num_stages"]) for d, t in cfg["tiles"].items()}
    pieces.append(T.HOST.format(tiles=repr(tiles), problem=name, host_body="".join(host), call_args=call_args,
                                call_constexprs=call_constexprs))
    return "".join(pieces)


def _summary(score, mask, mode, bound):
    parts = ["score_mod " + ("none" if score.ir is None else "translated"),
             "mask_mod " + ("none" if mask.ir is None else "translated, interval block skipping"),
             f"softmax {mode}" + (", static max for bounded scores" if bound is not None else "")]
    return "; ".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", required=True, help="problem folder (with reference.py)")
    ap.add_argument("--config", default="{}", help="JSON config (tiles, switches); see tools/offline/config.py")
    ap.add_argument("--resolve", action="store_true", help="print the resolved config and features as JSON instead")
    a = ap.parse_args(argv)
    try:
        if a.resolve:
            sys.stdout.write(json.dumps(resolve_config(a.problem, a.config)) + "\n")
        else:
            sys.stdout.write(render(a.problem, a.config))
    except (TranslateError, ConfigError) as e:
        sys.stderr.write(f"render: {a.problem}: {e}\n")
        return 2
    except FileNotFoundError as e:
        sys.stderr.write(f"render: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
