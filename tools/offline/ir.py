"""The typed IR of attention mods (score_mod / mask_mod), shared by every front end and the kernel generator.

A mod is an expression tree of frozen dataclasses. Front ends (tools/offline/translate.py reads a problem's
reference.py; a PyTorch make_fx tracer reads users' variant files) emit it; tools/offline/lower.py and
emit.py turn it into the generated hook functions of the kernel template.

Nodes
-----
Num(value)              int, float (inf allowed) or bool literal
Var(name)               score, b, h, q_idx, kv_idx; after lowering also qk (raw q.k) and scale
Param(name)             a captured Python scalar, passed to the kernel at run time
Load(tensor, index)     captured tensor `tensor` (any dtype, rank len(index)) at the given index expressions;
                        indices may be any integer expressions, including other loads; a 0-d tensor is a Load
                        with no index (read in the kernel, so a mutation between calls is seen)
Bin(op, a, b)           op in + - * / // % & | ^  (/ is true division; // and % floor like Python/torch;
                        & | ^ on booleans are logical, on integers bitwise)
Cmp(op, a, b)           op in < <= > >= == !=
Neg(a), Not(a)          arithmetic negation, logical (or bitwise) not
Call(fn, args)          fn in CALLS below, with that many arguments
Where(cond, a, b)       element-wise select (torch.where)
Reduce(op, size, body)  op in sum any all max min of body over r = 0 .. size-1 (the bound variable Var("r"),
                        e.g. the trailing index of captured vectors: torch.dot(q_rope[b, h, q_idx], k_rope[b, kv_idx])
                        is Reduce("sum", 64, q_rope[b, h, q_idx, r] * k_rope[b, kv_idx, r])); not nested

Calls: tanh exp exp2 log log2 sqrt rsqrt sigmoid abs floor ceil sin cos (1 argument); minimum maximum
(2); clamp (3: x, lo, hi); clamp_min clamp_max (2: x, bound); to_float (to float32), to_int (to int32,
truncating like Tensor.to(torch.int32)) (1); pow (2: x and a Num integer exponent in -4..8); erf, gelu (exact,
x * Phi(x)), gelu_tanh (torch's approximate="tanh") (1).

JSON form (stable; `to_json` / `from_json`)
-------------------------------------------
Each node is an object with exactly one tag key (plus its named fields):
    {"num": 1.5}  {"num": 3}  {"num": true}  {"num": "inf"}  {"num": "-inf"}
    {"var": "q_idx"}          {"param": "cap"}
    {"load": "table", "index": [<node>, ...]}
    {"bin": "+", "a": <node>, "b": <node>}      {"cmp": "<=", "a": <node>, "b": <node>}
    {"neg": <node>}           {"not": <node>}
    {"call": "tanh", "args": [<node>, ...]}     {"where": [<cond>, <a>, <b>]}
    {"reduce": "sum", "size": 64, "body": <node>}   (the body reads {"var": "r"})
A JSON number without a fraction or exponent (3) is an integer, with one (3.0) a float: the distinction
matters (integer index arithmetic vs float math). Infinities are the strings "inf" / "-inf".

A whole variant is a `Mods` document:
    {"version": 1,
     "score": <node> | null,                    # log-domain score_mod body, null = no score_mod
     "mask": <node> | null,                     # mask_mod body (boolean), null = no mask
     "scalars": ["cap", ...],                   # captured scalars read by Param
     "tensors": {"table": {"rank": 2, "dtype": "float32"}, ...}}   # captured tensors read by Load (rank >= 0)
Every Param and Load must name a declared scalar or tensor, every Load's index length must equal the
tensor's rank, and Var("r") may appear only in a Reduce body; `mods_from_json` checks this and raises IRError
naming what to fix. Params are numbers the host knows (problem.json params, shape scalars); a captured 0-d
tensor is a rank-0 tensor, read in the kernel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

VERSION = 1
VARS = frozenset({"score", "b", "h", "q_idx", "kv_idx", "qk", "scale",
                  "q_row", "q_col", "kv_row", "kv_col",  # grid coordinates (lower.grid_layout)
                  "r"})  # the index a Reduce runs over
REDUCE_OPS = frozenset({"sum", "any", "all", "max", "min"})
BIN_OPS = frozenset({"+", "-", "*", "/", "//", "%", "&", "|", "^"})
CMP_OPS = frozenset({"<", "<=", ">", ">=", "==", "!="})
CALLS = {"tanh": 1, "exp": 1, "exp2": 1, "log": 1, "log2": 1, "sqrt": 1, "rsqrt": 1, "sigmoid": 1, "abs": 1,
         "floor": 1, "ceil": 1, "sin": 1, "cos": 1, "to_float": 1, "to_int": 1, "erf": 1, "gelu": 1, "gelu_tanh": 1,
         "minimum": 2, "maximum": 2, "clamp_min": 2, "clamp_max": 2, "pow": 2, "clamp": 3}
POW_RANGE = range(-4, 9)


class IRError(ValueError):
    """Malformed IR or IR JSON; the message says which node and what to fix."""


@dataclass(frozen=True)
class Num:
    """A literal: int, float (inf allowed) or bool."""
    value: Union[int, float, bool]


@dataclass(frozen=True)
class Var:
    """An index variable of the mod (score, b, h, q_idx, kv_idx) or of the lowered kernel (qk, scale)."""
    name: str


@dataclass(frozen=True)
class Param:
    """A captured scalar, a kernel argument at run time."""
    name: str


@dataclass(frozen=True)
class Load:
    """A captured tensor read at integer index expressions (one per dimension)."""
    tensor: str
    index: Tuple["Node", ...]


@dataclass(frozen=True)
class Bin:
    """A binary arithmetic or logical operation (op in BIN_OPS)."""
    op: str
    a: "Node"
    b: "Node"


@dataclass(frozen=True)
class Cmp:
    """A comparison (op in CMP_OPS), a boolean."""
    op: str
    a: "Node"
    b: "Node"


@dataclass(frozen=True)
class Neg:
    """-a."""
    a: "Node"


@dataclass(frozen=True)
class Not:
    """~a (logical not of a boolean)."""
    a: "Node"


@dataclass(frozen=True)
class Call:
    """A math function (fn in CALLS) applied to its arguments."""
    fn: str
    args: Tuple["Node", ...]


@dataclass(frozen=True)
class Where:
    """cond ? a : b, element-wise."""
    cond: "Node"
    a: "Node"
    b: "Node"


@dataclass(frozen=True)
class Reduce:
    """op (REDUCE_OPS) of body over Var("r") = 0 .. size-1: a reduction over a trailing dim of captured tensors."""
    op: str
    size: int
    body: "Node"


Node = Union[Num, Var, Param, Load, Bin, Cmp, Neg, Not, Call, Where, Reduce]


def children(n: Node) -> Tuple[Node, ...]:
    """The direct sub-expressions of a node, in order."""
    if isinstance(n, Load):
        return n.index
    if isinstance(n, (Bin, Cmp)):
        return (n.a, n.b)
    if isinstance(n, (Neg, Not)):
        return (n.a,)
    if isinstance(n, Call):
        return n.args
    if isinstance(n, Where):
        return (n.cond, n.a, n.b)
    if isinstance(n, Reduce):
        return (n.body,)
    return ()


def with_children(n: Node, new_kids: Iterable[Node]) -> Node:
    """The same node over new sub-expressions (kids in the order `children` gives)."""
    kids = tuple(new_kids)
    if isinstance(n, Load):
        return Load(n.tensor, kids)
    if isinstance(n, Bin):
        return Bin(n.op, kids[0], kids[1])
    if isinstance(n, Cmp):
        return Cmp(n.op, kids[0], kids[1])
    if isinstance(n, Neg):
        return Neg(kids[0])
    if isinstance(n, Not):
        return Not(kids[0])
    if isinstance(n, Call):
        return Call(n.fn, kids)
    if isinstance(n, Where):
        return Where(*kids)
    if isinstance(n, Reduce):
        return Reduce(n.op, n.size, kids[0])
    return n


def walk(n: Node) -> Iterator[Node]:
    """Every node of the tree, pre-order."""
    yield n
    for c in children(n):
        yield from walk(c)


def substitute(n: Node, old: Node, new: Node) -> Node:
    """n with every occurrence of the sub-tree old replaced by new."""
    if n == old:
        return new
    kids = children(n)
    return with_children(n, (substitute(c, old, new) for c in kids)) if kids else n


def _num_json(v: Union[int, float, bool]) -> Union[int, float, bool, str]:
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and math.isnan(v):
        raise IRError("Num(nan) has no JSON form")
    return v


def to_json(n: Node) -> Dict[str, Any]:
    """The stable JSON form of a node (plain dicts, lists, numbers, strings; see the module doc)."""
    if isinstance(n, Num):
        return {"num": _num_json(n.value)}
    if isinstance(n, Var):
        return {"var": n.name}
    if isinstance(n, Param):
        return {"param": n.name}
    if isinstance(n, Load):
        return {"load": n.tensor, "index": [to_json(i) for i in n.index]}
    if isinstance(n, Bin):
        return {"bin": n.op, "a": to_json(n.a), "b": to_json(n.b)}
    if isinstance(n, Cmp):
        return {"cmp": n.op, "a": to_json(n.a), "b": to_json(n.b)}
    if isinstance(n, Neg):
        return {"neg": to_json(n.a)}
    if isinstance(n, Not):
        return {"not": to_json(n.a)}
    if isinstance(n, Call):
        return {"call": n.fn, "args": [to_json(a) for a in n.args]}
    if isinstance(n, Where):
        return {"where": [to_json(n.cond), to_json(n.a), to_json(n.b)]}
    if isinstance(n, Reduce):
        return {"reduce": n.op, "size": n.size, "body": to_json(n.body)}
    raise IRError(f"not an IR node: {n!r}")


_TAGS = ("num", "var", "param", "load", "bin", "cmp", "neg", "not", "call", "where", "reduce")


def from_json(obj: Any, path: str = "$") -> Node:
    """A node from its JSON form; raises IRError naming the JSON path of anything malformed."""
    if not isinstance(obj, dict):
        raise IRError(f"{path}: expected an object with one of the keys {', '.join(_TAGS)}, got {obj!r}")
    tags = [t for t in _TAGS if t in obj]
    if len(tags) != 1:
        raise IRError(f"{path}: expected exactly one of the keys {', '.join(_TAGS)}, got {sorted(obj)}")
    t = tags[0]
    v = obj[t]
    if t == "num":
        if v in ("inf", "-inf"):
            return Num(math.inf if v == "inf" else -math.inf)
        if not isinstance(v, (int, float, bool)):
            raise IRError(f"{path}.num: expected a number, a boolean, \"inf\" or \"-inf\", got {v!r}")
        return Num(v)
    if t in ("var", "param"):
        if not isinstance(v, str) or not v.isidentifier():
            raise IRError(f"{path}.{t}: expected a name, got {v!r}")
        if t == "var" and v not in VARS:
            raise IRError(f"{path}.var: unknown variable {v!r} (known: {', '.join(sorted(VARS))})")
        return Var(v) if t == "var" else Param(v)
    if t == "load":
        if not isinstance(v, str) or not v.isidentifier():
            raise IRError(f"{path}.load: expected a tensor name, got {v!r}")
        idx = obj.get("index")
        if not isinstance(idx, list):
            raise IRError(f"{path}.index: expected a list of index nodes (empty for a 0-d tensor)")
        return Load(v, tuple(from_json(i, f"{path}.index[{k}]") for k, i in enumerate(idx)))
    if t in ("bin", "cmp"):
        ops = BIN_OPS if t == "bin" else CMP_OPS
        if v not in ops:
            raise IRError(f"{path}.{t}: unknown operator {v!r} (known: {' '.join(sorted(ops))})")
        a, b = from_json(obj.get("a"), f"{path}.a"), from_json(obj.get("b"), f"{path}.b")
        return Bin(v, a, b) if t == "bin" else Cmp(v, a, b)
    if t in ("neg", "not"):
        a = from_json(v, f"{path}.{t}")
        return Neg(a) if t == "neg" else Not(a)
    if t == "call":
        args = obj.get("args")
        if not isinstance(args, list):
            raise IRError(f"{path}.args: expected a list of argument nodes")
        return make_call(v, tuple(from_json(a, f"{path}.args[{k}]") for k, a in enumerate(args)), path)
    if t == "reduce":
        size = obj.get("size")
        if v not in REDUCE_OPS:
            raise IRError(f"{path}.reduce: unknown reduction {v!r} (known: {' '.join(sorted(REDUCE_OPS))})")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise IRError(f"{path}.size: expected the reduced length, an integer >= 1, got {size!r}")
        return Reduce(v, size, from_json(obj.get("body"), f"{path}.body"))
    if not isinstance(v, list) or len(v) != 3:
        raise IRError(f"{path}.where: expected [cond, a, b]")
    return Where(*(from_json(x, f"{path}.where[{k}]") for k, x in enumerate(v)))


def make_call(fn: str, args: Tuple[Node, ...], where: str = "call") -> Call:
    """A checked Call: a known function with its arity (pow: a small integer literal exponent)."""
    if fn not in CALLS:
        raise IRError(f"{where}: unknown function {fn!r} (supported: {', '.join(sorted(CALLS))})")
    if len(args) != CALLS[fn]:
        raise IRError(f"{where}: {fn} takes {CALLS[fn]} argument(s), got {len(args)}")
    if fn == "pow" and not (isinstance(args[1], Num) and isinstance(args[1].value, int)
                            and not isinstance(args[1].value, bool) and args[1].value in POW_RANGE):
        raise IRError(f"{where}: pow needs an integer literal exponent in {POW_RANGE.start}..{POW_RANGE.stop - 1}")
    return Call(fn, tuple(args))


@dataclass(frozen=True)
class TensorInfo:
    """A captured tensor's rank and dtype name (torch's, without the 'torch.' prefix)."""
    rank: int
    dtype: str = "float32"


@dataclass(frozen=True)
class Mods:
    """A variant: its score_mod and mask_mod bodies (None when absent) and what they capture."""
    score: Union[Node, None]
    mask: Union[Node, None]
    scalars: Tuple[str, ...] = ()  # sorted names
    tensors: Tuple[Tuple[str, TensorInfo], ...] = ()  # sorted (name, TensorInfo)

    def tensor_info(self) -> Dict[str, TensorInfo]:
        """{name: TensorInfo} of the captured tensors."""
        return dict(self.tensors)


def check_mods(m: Mods) -> Mods:
    """m itself after checking every Param/Load against the declared captures; raises IRError otherwise."""
    info = m.tensor_info()
    for kind, root in (("score", m.score), ("mask", m.mask)):
        if root is None:
            continue
        for n in walk(root):
            if isinstance(n, Param) and n.name not in m.scalars:
                raise IRError(f"{kind}: Param({n.name!r}) is not a declared scalar (declare it in \"scalars\")")
            if isinstance(n, Load):
                if n.tensor not in info:
                    raise IRError(f"{kind}: Load({n.tensor!r}) reads an undeclared tensor (declare it in \"tensors\")")
                if len(n.index) != info[n.tensor].rank:
                    raise IRError(f"{kind}: Load({n.tensor!r}) has {len(n.index)} indices but the tensor has rank "
                                  f"{info[n.tensor].rank}")
            if isinstance(n, Var) and n.name == "score" and kind == "mask":
                raise IRError("mask: a mask_mod cannot read the score")
        _check_reduce_scopes(kind, root, False)
    return m


def _check_reduce_scopes(kind: str, n: Node, inside: bool) -> None:
    """Var("r") only inside a Reduce body, and no Reduce inside another (r would be ambiguous)."""
    if isinstance(n, Var) and n.name == "r" and not inside:
        raise IRError(f"{kind}: Var('r') outside a Reduce (it is the index a Reduce runs over)")
    if isinstance(n, Reduce):
        if inside:
            raise IRError(f"{kind}: a Reduce inside another Reduce (reduce over one trailing dim at a time)")
        inside = True
    for c in children(n):
        _check_reduce_scopes(kind, c, inside)


def mods_to_json(m: Mods) -> Dict[str, Any]:
    """The stable JSON document of a variant (see the module doc)."""
    return {"version": VERSION, "score": None if m.score is None else to_json(m.score),
            "mask": None if m.mask is None else to_json(m.mask), "scalars": list(m.scalars),
            "tensors": {k: {"rank": t.rank, "dtype": t.dtype} for k, t in m.tensors}}


def mods_from_json(obj: Any) -> Mods:
    """A checked variant from its JSON document; raises IRError naming what to fix."""
    if not isinstance(obj, dict) or obj.get("version") != VERSION:
        raise IRError(f"expected a Mods document with \"version\": {VERSION}")
    tensors = obj.get("tensors") or {}
    if not isinstance(tensors, dict):
        raise IRError("\"tensors\" must map tensor names to {\"rank\": N, \"dtype\": NAME}")
    ts: List[Tuple[str, TensorInfo]] = []
    for k, t in sorted(tensors.items()):
        if not isinstance(t, dict) or not isinstance(t.get("rank"), int) or t["rank"] < 0:
            raise IRError(f"tensors.{k}: expected {{\"rank\": N >= 0, \"dtype\": NAME}}")
        ts.append((k, TensorInfo(t["rank"], str(t.get("dtype", "float32")))))
    scalars = obj.get("scalars") or []
    if not isinstance(scalars, list) or not all(isinstance(s, str) for s in scalars):
        raise IRError("\"scalars\" must be a list of names")

    def node(key: str) -> Optional[Node]:
        return None if obj.get(key) is None else from_json(obj[key], f"$.{key}")
    return check_mods(Mods(node("score"), node("mask"), tuple(sorted(scalars)), tuple(ts)))
