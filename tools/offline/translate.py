"""Translate a problem's FlexAttention-form `make_score_mod` / `make_mask_mod` into a small expression IR.

The reference file is parsed with `ast`, never executed. The supported subset is what attention
variants need: arithmetic, comparisons, & | ~, torch.where/tanh/exp/log/abs/minimum/maximum,
numeric literals, captured parameters (numbers, or tensors indexed as `slopes[h]`, `doc_ids[q_idx]`)
and local assignments (tuple unpacking included). Anything else raises `TranslateError` naming the
construct and its line.

IR nodes are tuples: ("num", v) ("var", name) ("param", name) ("load", tensor, idx) ("bin", op, a, b)
("cmp", op, a, b) ("neg", a) ("not", a) ("call", fn, args). Vars are score, b, h, q_idx, kv_idx
(and qk, scale once lowered).
"""
import ast
import math
from dataclasses import dataclass, field

SCORE_ARGS = ("score", "b", "h", "q_idx", "kv_idx")
MASK_ARGS = ("b", "h", "q_idx", "kv_idx")
TORCH_FNS = {"where": 3, "tanh": 1, "exp": 1, "log": 1, "abs": 1, "minimum": 2, "maximum": 2}
BUILTIN_FNS = {"abs": "abs"}
BIN_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.BitAnd: "&", ast.BitOr: "|"}
CMP_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class TranslateError(Exception):
    """A construct outside the supported subset; the message names it and its line."""


@dataclass
class Mod:
    """One translated mod: its IR (None when the factory returns None) and the captured params it reads."""
    kind: str  # "score" or "mask"
    ir: tuple | None
    scalars: set = field(default_factory=set)  # captured params used as numbers
    tensors: set = field(default_factory=set)  # captured params used as indexed tensors


def _err(node, what):
    raise TranslateError(f"line {getattr(node, 'lineno', '?')}: {what} is not supported by the offline template")


class _Translator:
    def __init__(self, kind, captured, env):
        self.kind, self.captured, self.env = kind, captured, env
        self.scalars, self.tensors = set(), set()

    def expr(self, n):
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool):
                return ("num", n.value)
            if isinstance(n.value, (int, float)):
                return ("num", n.value)
            _err(n, f"the constant {n.value!r}")
        if isinstance(n, ast.Name):
            if n.id in self.env:
                return self.env[n.id]
            if n.id in self.captured:
                self.scalars.add(n.id)
                return ("param", n.id)
            _err(n, f"the free name '{n.id}' (not an argument, a local or a captured parameter)")
        if isinstance(n, ast.BinOp):
            if isinstance(n.op, ast.Pow):
                return self._pow(n)
            op = BIN_OPS.get(type(n.op))
            if op is None:
                _err(n, f"the operator {type(n.op).__name__}")
            return ("bin", op, self.expr(n.left), self.expr(n.right))
        if isinstance(n, ast.UnaryOp):
            a = self.expr(n.operand)
            if isinstance(n.op, ast.USub):
                return ("num", -a[1]) if a[0] == "num" else ("neg", a)
            if isinstance(n.op, ast.UAdd):
                return a
            if isinstance(n.op, ast.Invert):
                return ("not", a)
            _err(n, "'not' (use ~ on tensors)")
        if isinstance(n, ast.Compare):
            parts, left = [], self.expr(n.left)
            for op, right_node in zip(n.ops, n.comparators):
                right = self.expr(right_node)
                sym = CMP_OPS.get(type(op))
                if sym is None:
                    _err(n, f"the comparison {type(op).__name__}")
                parts.append(("cmp", sym, left, right))
                left = right
            out = parts[0]
            for p in parts[1:]:
                out = ("bin", "&", out, p)
            return out
        if isinstance(n, ast.Subscript):
            return self._subscript(n)
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id == "torch"):
                base = f.value.id if isinstance(f.value, ast.Name) else type(f.value).__name__
                _err(n, f"attribute access '{base}.{f.attr}' (a method call; only torch.<fn> calls are supported)")
            return self._call(n)
        if isinstance(n, ast.Attribute):
            if isinstance(n.value, ast.Name) and n.value.id in ("math", "torch") and n.attr == "inf":
                return ("num", math.inf)
            base = n.value.id if isinstance(n.value, ast.Name) else type(n.value).__name__
            _err(n, f"attribute access '{base}.{n.attr}'")
        if isinstance(n, ast.BoolOp):
            _err(n, "'and'/'or' (use & and | on tensors)")
        if isinstance(n, ast.IfExp):
            _err(n, "a conditional expression (use torch.where)")
        _err(n, f"the expression {type(n).__name__}")

    def _pow(self, n):
        exp = n.right
        if isinstance(exp, ast.Constant) and isinstance(exp.value, int) and 1 <= exp.value <= 4:
            base = self.expr(n.left)
            out = base
            for _ in range(exp.value - 1):
                out = ("bin", "*", out, base)
            return out
        _err(n, "'**' with anything but a small integer literal exponent")

    def _subscript(self, n):
        if not (isinstance(n.value, ast.Name) and n.value.id in self.captured and n.value.id not in self.env):
            _err(n, "indexing anything but a captured tensor parameter")
        idx = n.slice
        if isinstance(idx, ast.Tuple):
            _err(n, f"multi-dimensional indexing of '{n.value.id}'")
        self.tensors.add(n.value.id)
        return ("load", n.value.id, self.expr(idx))

    def _call(self, n):
        f = n.func
        if n.keywords:
            _err(n, "keyword arguments in a call")
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch":
            name = f.attr
            if name not in TORCH_FNS:
                _err(n, f"the function 'torch.{name}'")
        elif isinstance(f, ast.Name) and f.id in BUILTIN_FNS:
            name = BUILTIN_FNS[f.id]
        elif isinstance(f, ast.Name) and f.id == "float" and len(n.args) == 1 and isinstance(n.args[0], ast.Constant):
            try:
                return ("num", float(n.args[0].value))
            except (TypeError, ValueError):
                _err(n, f"float({n.args[0].value!r})")
        else:
            fname = ast.unparse(f) if hasattr(ast, "unparse") else type(f).__name__
            _err(n, f"a call to the unknown function '{fname}'")
        if len(n.args) != TORCH_FNS[name]:
            _err(n, f"torch.{name} with {len(n.args)} arguments")
        return ("call", name, tuple(self.expr(a) for a in n.args))

    def body(self, stmts):
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

    def _assign(self, target, value):
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
    env.update({a.arg: ("var", canon) for a, canon in zip(args, names)})
    t = _Translator(kind, captured, env)
    t.scalars, t.tensors = outer.scalars, outer.tensors
    ir = t.body(stmts)
    return Mod(kind, ir, t.scalars - t.tensors, t.tensors)


def main(argv=None):
    """CLI: python3 translate.py REFERENCE.py prints both mods' IR as JSON, or the error (exit 2)."""
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
    def plain(n):  # JSON has no infinities: write them as strings
        if isinstance(n, float) and math.isinf(n):
            return "inf" if n > 0 else "-inf"
        return [plain(c) for c in n] if isinstance(n, tuple) else n
    sys.stdout.write(json.dumps({k: {"ir": plain(m.ir) if m.ir else None, "scalars": sorted(m.scalars), "tensors": sorted(m.tensors)}
                                 for k, m in out.items()}, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
