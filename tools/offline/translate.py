"""Translate a problem's FlexAttention-form `make_score_mod` / `make_mask_mod` into a small expression IR.

The reference file is parsed with `ast`, never executed. The supported subset is what attention
variants need: arithmetic, comparisons, & | ~, torch.where/tanh/exp/log/abs/minimum/maximum/erf (torch.special.erf
too), torch.nn.functional.gelu (F.gelu; approximate="none" or "tanh"),
numeric literals, captured parameters (numbers, or tensors indexed as `slopes[h]`, `doc_ids[q_idx]`)
and local assignments (tuple unpacking included). Anything else raises `TranslateError` naming the
construct and its line.

The result is the typed IR of tools/offline/ir.py (the make_fx front end for users' variant files emits the
same IR); captured tensors may have any rank and be indexed by any expressions, nested loads included
(`table[h, dist[b, q_idx, kv_idx]]`).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Dict, List, NoReturn, Optional, Sequence, Set, Type, cast

from ir import Bin, Call, Cmp, IRError, Load, Mods, Neg, Node, Not, Num, Param, TensorInfo, Var, Where, make_call, \
    mods_to_json

SCORE_ARGS = ("score", "b", "h", "q_idx", "kv_idx")
MASK_ARGS = ("b", "h", "q_idx", "kv_idx")
TORCH_FNS = {"where": 3, "tanh": 1, "exp": 1, "exp2": 1, "log": 1, "log2": 1, "sqrt": 1, "rsqrt": 1, "sigmoid": 1,
             "abs": 1, "floor": 1, "ceil": 1, "sin": 1, "cos": 1, "minimum": 2, "maximum": 2, "clamp": 3, "erf": 1}
# Calls spelled through a submodule: the dotted name as written -> the IR call (gelu's approximate= picks gelu_tanh).
DOTTED_FNS = {"torch.special.erf": "erf", "torch.nn.functional.gelu": "gelu", "nn.functional.gelu": "gelu", "F.gelu": "gelu"}
BUILTIN_FNS = {"abs": "abs"}
BIN_OPS: Dict[Type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
                                          ast.Mod: "%", ast.BitAnd: "&", ast.BitOr: "|"}
CMP_OPS: Dict[Type[ast.cmpop], str] = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class TranslateError(Exception):
    """A construct outside the supported subset; the message names it and its line."""


@dataclass
class Mod:
    """One translated mod: its IR (None when the factory returns None) and the captured params it reads."""
    kind: str  # "score" or "mask"
    ir: Optional[Node]  # an ir.Node, or None
    scalars: Set[str] = field(default_factory=set)  # captured params used as numbers
    tensors: Dict[str, int] = field(default_factory=dict)  # captured params used as indexed tensors: name -> rank


def _err(node: ast.AST, what: str) -> NoReturn:
    raise TranslateError(f"line {getattr(node, 'lineno', '?')}: {what} is not supported by the offline template")


class _Translator:
    scalars: Set[str]
    tensors: Dict[str, int]

    def __init__(self, kind: str, captured: Set[str], env: Dict[str, Node]) -> None:
        self.kind, self.captured, self.env = kind, captured, env
        self.scalars, self.tensors = set(), {}

    def expr(self, n: ast.expr) -> Node:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, (bool, int, float)):
                return Num(n.value)
            _err(n, f"the constant {n.value!r}")
        if isinstance(n, ast.Name):
            if n.id in self.env:
                return self.env[n.id]
            if n.id in self.captured:
                self.scalars.add(n.id)
                return Param(n.id)
            _err(n, f"the free name '{n.id}' (not an argument, a local or a captured parameter)")
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, ast.Pow):
                return self._pow(n)
            op = BIN_OPS.get(type(n.op))
            if op is None:
                _err(n, f"the operator {type(n.op).__name__}")
            return Bin(op, self.expr(n.left), self.expr(n.right))
        if isinstance(n, ast.UnaryOp):
            a = self.expr(n.operand)
            if isinstance(n.op, ast.USub):
                return Num(-a.value) if isinstance(a, Num) else Neg(a)
            if isinstance(n.op, ast.UAdd):
                return a
            if isinstance(n.op, ast.Invert):
                return Not(a)
            _err(n, "'not' (use ~ on tensors)")
        if isinstance(n, ast.Compare):
            parts: List[Node]
            parts, left = [], self.expr(n.left)
            for cmp_op, right_node in zip(n.ops, n.comparators):
                right = self.expr(right_node)
                sym = CMP_OPS.get(type(cmp_op))
                if sym is None:
                    _err(n, f"the comparison {type(cmp_op).__name__}")
                parts.append(Cmp(sym, left, right))
                left = right
            out = parts[0]
            for p in parts[1:]:
                out = Bin("&", out, p)
            return out
        if isinstance(n, ast.Subscript):
            return self._subscript(n)
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id == "torch") \
                    and ast.unparse(f) not in DOTTED_FNS:
                base = f.value.id if isinstance(f.value, ast.Name) else type(f.value).__name__
                _err(n, f"attribute access '{base}.{f.attr}' (a method call; only torch.<fn> calls are supported)")
            return self._call(n)
        if isinstance(n, ast.Attribute):
            if isinstance(n.value, ast.Name) and n.value.id in ("math", "torch") and n.attr == "inf":
                return Num(math.inf)
            base = n.value.id if isinstance(n.value, ast.Name) else type(n.value).__name__
            _err(n, f"attribute access '{base}.{n.attr}'")
        if isinstance(n, ast.BoolOp):
            _err(n, "'and'/'or' (use & and | on tensors)")
        if isinstance(n, ast.IfExp):
            _err(n, "a conditional expression (use torch.where)")
        _err(n, f"the expression {type(n).__name__}")

    def _pow(self, n: ast.BinOp) -> Node:
        exp = n.right
        if isinstance(exp, ast.Constant) and isinstance(exp.value, int) and not isinstance(exp.value, bool) \
                and -4 <= exp.value <= 8:
            return Call("pow", (self.expr(n.left), Num(exp.value)))
        _err(n, "'**' with anything but a small integer literal exponent (-4..8)")

    def _subscript(self, n: ast.Subscript) -> Node:
        if not (isinstance(n.value, ast.Name) and n.value.id in self.captured and n.value.id not in self.env):
            _err(n, "indexing anything but a captured tensor parameter")
        elts = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
        if any(isinstance(e, (ast.Slice, ast.Starred)) for e in elts):
            _err(n, f"slicing '{n.value.id}' (index it with one expression per dimension)")
        rank = self.tensors.setdefault(n.value.id, len(elts))
        if rank != len(elts):
            _err(n, f"indexing '{n.value.id}' with {len(elts)} indices after {rank} elsewhere")
        return Load(n.value.id, tuple(self.expr(e) for e in elts))

    def _call(self, n: ast.Call) -> Node:
        f = n.func
        dotted = ast.unparse(f) if isinstance(f, ast.Attribute) else ""
        if dotted in DOTTED_FNS:
            return self._dotted(n, dotted, DOTTED_FNS[dotted])
        if n.keywords and not (isinstance(f, ast.Attribute) and f.attr == "clamp"):
            _err(n, "keyword arguments in a call")
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch":
            name = f.attr
            if name not in TORCH_FNS:
                _err(n, f"the function 'torch.{name}'")
        elif isinstance(f, ast.Name) and f.id in BUILTIN_FNS:
            name = BUILTIN_FNS[f.id]
        elif isinstance(f, ast.Name) and f.id == "float" and len(n.args) == 1 and isinstance(n.args[0], ast.Constant):
            try:
                return Num(float(n.args[0].value))
            except (TypeError, ValueError):
                _err(n, f"float({n.args[0].value!r})")
        else:
            fname = ast.unparse(f) if hasattr(ast, "unparse") else type(f).__name__
            _err(n, f"a call to the unknown function '{fname}'")
        if name == "clamp":
            return self._clamp(n)
        if len(n.args) != TORCH_FNS[name]:
            _err(n, f"torch.{name} with {len(n.args)} arguments")
        args = tuple(self.expr(a) for a in n.args)
        if name == "where":
            return Where(*args)
        try:
            return make_call(name, args, f"line {n.lineno}")
        except IRError as e:
            raise TranslateError(str(e)) from None

    def _dotted(self, n: ast.Call, dotted: str, name: str) -> Node:
        if len(n.args) != 1:
            _err(n, f"{dotted} with {len(n.args)} arguments")
        if name == "gelu":
            for kw in n.keywords:
                mode = kw.value.value if isinstance(kw.value, ast.Constant) else None
                if kw.arg != "approximate" or mode not in ("none", "tanh"):
                    _err(n, f"{dotted} with {ast.unparse(kw)} (supported: approximate='none' or 'tanh')")
                name = "gelu_tanh" if mode == "tanh" else "gelu"
        elif n.keywords:
            _err(n, "keyword arguments in a call")
        try:
            return make_call(name, (self.expr(n.args[0]),), f"line {n.lineno}")
        except IRError as e:
            raise TranslateError(str(e)) from None

    def _clamp(self, n: ast.Call) -> Node:
        """torch.clamp(x, min, max) with either bound positional or by keyword (None = no bound)."""
        bounds = {k.arg: k.value for k in n.keywords}
        if set(bounds) - {"min", "max"} or not n.args:
            _err(n, "torch.clamp with arguments other than (x, min, max)")
        for k, a in zip(("min", "max"), n.args[1:]):
            bounds[k] = a
        x = self.expr(n.args[0])

        def given(k: str) -> bool:
            return k in bounds and not (isinstance(b := bounds[k], ast.Constant) and b.value is None)

        lo, hi = (self.expr(bounds[k]) if given(k) else None for k in ("min", "max"))
        if lo is None and hi is None:
            _err(n, "torch.clamp without a bound")
        if lo is not None and hi is not None:
            return Call("clamp", (x, lo, hi))
        return Call("clamp_min", (x, lo)) if lo is not None else Call("clamp_max", (x, cast(Node, hi)))  # hi: not both None

    def body(self, stmts: Sequence[ast.stmt]) -> Node:
        for s in stmts:
            if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
                continue  # docstring
            if isinstance(s, ast.Assign) and len(s.targets) == 1:
                self._assign(s.targets[0], s.value)
            elif isinstance(s, ast.AnnAssign) and s.value is not None:
                self._assign(s.target, s.value)
            elif isinstance(s, ast.Return):
                if s.value is None:
                    _err(s, "a bare return")
                return self.expr(s.value)
            else:
                _err(s, f"the statement '{type(s).__name__}'")
        raise TranslateError(f"the {self.kind}_mod has no return statement")

    def _assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = self.expr(value)
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            vals = [self.expr(v) for v in value.elts]
            for t, v in zip(target.elts, vals):
                if not isinstance(t, ast.Name):
                    _err(t, "assignment to anything but a plain name")
                self.env[t.id] = v
        else:
            _err(target, "this assignment form")


def translate_factory(source: str, kind: str) -> Mod:
    """Translates `make_<kind>_mod` in a reference.py source; kind is "score" or "mask"."""
    tree = ast.parse(source)
    fname = f"make_{kind}_mod"
    fac = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fname), None)
    if fac is None:
        raise TranslateError(f"no function {fname} in the reference")
    captured = {a.arg for a in fac.args.args + fac.args.kwonlyargs}
    inner, ret, env_stmts = {}, None, []
    for s in fac.body:
        if isinstance(s, ast.FunctionDef):
            inner[s.name] = s
        elif isinstance(s, ast.Return):
            ret = s
            break
        else:
            env_stmts.append(s)
    if ret is None:
        raise TranslateError(f"line {fac.lineno}: {fname} has no return statement")
    if ret.value is None or (isinstance(ret.value, ast.Constant) and ret.value.value is None):
        return Mod(kind, None)
    names = SCORE_ARGS if kind == "score" else MASK_ARGS
    outer = _Translator(kind, captured, {})
    for s in env_stmts:
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
            continue
        if not isinstance(s, ast.Assign) or len(s.targets) != 1:
            _err(s, f"the statement '{type(s).__name__}' in {fname}")
        outer._assign(s.targets[0], s.value)
    if isinstance(ret.value, ast.Name) and ret.value.id in inner:
        fn = inner[ret.value.id]
        args, stmts = fn.args.args, fn.body
    elif isinstance(ret.value, ast.Lambda):
        args, stmts = ret.value.args.args, [ast.Return(value=ret.value.body, lineno=ret.lineno)]
    else:
        _err(ret, f"{fname} returning something other than an inner function, a lambda or None")
    if len(args) != len(names):
        raise TranslateError(f"line {ret.lineno}: a {kind}_mod takes {len(names)} arguments ({', '.join(names)})")
    env = dict(outer.env)
    env.update({a.arg: Var(canon) for a, canon in zip(args, names)})
    t = _Translator(kind, captured, env)
    t.scalars, t.tensors = outer.scalars, outer.tensors
    ir = t.body(stmts)
    return Mod(kind, ir, t.scalars - set(t.tensors), t.tensors)


def to_mods(score: Mod, mask: Mod) -> Mods:
    """The two translated mods as one ir.Mods document."""
    tensors = {**score.tensors, **mask.tensors}
    return Mods(score.ir, mask.ir, tuple(sorted((score.scalars | mask.scalars) - set(tensors))),
                tuple(sorted((k, TensorInfo(r)) for k, r in tensors.items())))


def main(argv: Optional[List[str]] = None) -> int:
    """CLI: python3 translate.py REFERENCE.py prints the variant's ir.Mods JSON document, or the error (exit 2)."""
    import json
    import sys
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: translate.py REFERENCE.py\n")
        return 2
    try:
        src = open(args[0]).read()
        out = {k: translate_factory(src, k) for k in ("score", "mask")}
    except (TranslateError, SyntaxError) as e:
        sys.stderr.write(f"translate: {args[0]}: {e}\n")
        return 2
    sys.stdout.write(json.dumps(mods_to_json(to_mods(out["score"], out["mask"]))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
