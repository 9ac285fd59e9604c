"""Lowers a traced mod (an aten-level torch.fx graph) to kforge's typed IR, in its JSON form (tools/offline/ir.py
documents it; that module lives outside the sandbox, so this one emits the same plain dicts).

Captured tensors are graph constants; `names` maps each one (by identity) to the variable it came from, and an
indexed constant becomes {"load": name, "index": [...]} (nested and computed indices included). An op with no
IR counterpart raises LowerError naming the op, the user's file and line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NoReturn, Optional, cast

import torch

from .lower_ops import Anon, Arg, OpLowering, TRef, num
from .lower_vec import R, Vec, substitute
from .trace_mods import node_location, source_line
from .types import IRNode, IRTensor, Result

MAX_TREE = 20000  # IR is a tree: a value used twice is inlined twice, so unrolled loops can grow it exponentially


class LowerError(Exception):
    """An op the kernel IR cannot express; names the construct, the file and the line."""

    def __init__(self, construct: str, file: Optional[str], line: Optional[int], message: str):
        super().__init__(message)
        self.construct, self.file, self.line, self.message = construct, file, line, message

    def as_dict(self) -> Result:
        return {"construct": self.construct, "file": self.file, "line": self.line, "message": self.message}


@dataclass
class Lowered:
    """One mod's IR and what it reads."""
    ir: IRNode
    tensors: Dict[str, IRTensor] = field(default_factory=dict)  # name -> {"rank", "dtype"} (rank 0: a captured 0-d tensor)
    scalars: Dict[str, torch.Tensor] = field(default_factory=dict)  # Params (none from tracing; shape_lift adds some)


class Lowerer(OpLowering):
    """Walks the graph in order; env maps each fx node to its IR dict (or a TRef)."""

    def __init__(self, gm: torch.fx.GraphModule, kind: str, names: Dict[int, str], files: Iterable[str]):
        self.gm, self.kind, self.names, self.files = gm, kind, names, list(files)
        self.env: Dict[torch.fx.Node, Arg] = {}
        self.out = Lowered({})
        self.node: Optional[torch.fx.Node] = None

    def run(self) -> Lowered:
        placeholders = iter(("score", "b", "h", "q_idx", "kv_idx") if self.kind == "score" else ("b", "h", "q_idx", "kv_idx"))
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                self.env[node] = {"var": next(placeholders)}
            elif node.op == "get_attr":
                self.env[node] = self.constant(getattr(self.gm, node.target))
            elif node.op == "call_function":
                self.env[node] = self.call(node)
            elif node.op == "output":
                res = self.arg(node.args[0][0] if isinstance(node.args[0], (tuple, list)) else node.args[0])
                # the returned expression's IR: value() refuses a returned slice of a captured tensor or vector
                self.out.ir = cast(IRNode, self.value(res, "the returned value"))
                if tree_size(self.out.ir) > MAX_TREE:
                    self.fail("expression too large", f"the expression has over {MAX_TREE} nodes once loops are unrolled "
                              "and shared values inlined")
            else:
                self.fail(node.op, f"the fx operation {node.op} {node.target}")
        return self.out

    # -- values --
    def constant(self, t: torch.Tensor) -> Arg:
        name = self.names.get(id(t))
        if name is not None:
            # a 0-d capture is a rank-0 tensor the kernel reads (not a number fixed on the host: it may change between calls)
            return self.load(TRef(name, t)) if t.dim() == 0 else TRef(name, t)
        if t.dim() == 0 or t.numel() == 1:
            return num(t.reshape(()).item())
        return Anon(t)

    def arg(self, a: object) -> Arg:
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (bool, int, float)):
            return num(a)
        if isinstance(a, str):  # an enum-like argument (gelu's approximate), read by the op that takes it
            return a
        if a is None:
            return None
        if isinstance(a, (list, tuple)):
            return [self.arg(x) for x in a]
        self.fail(type(a).__name__, f"the argument {a!r}")

    def value(self, v: Arg, what: str) -> Arg:
        """An operand as IR: a fully indexed captured tensor is a load, one indexed by all but its last dimension a
        vector (its element r); anything else is refused."""
        if isinstance(v, TRef):
            if len(v.index) == v.tensor.dim():
                return self.load(v)
            if v.index and len(v.index) == v.tensor.dim() - 1:
                return Vec(int(v.tensor.shape[-1]), self.load(TRef(v.name, v.tensor, v.index + (R,))))
            self.fail("tensor slice", f"{what} is a whole captured tensor or a slice of one (`{v.name}` indexed by "
                      f"{len(v.index)} of its {v.tensor.dim()} dimensions); index every dimension, or every one but "
                      "the last and reduce over it (torch.dot, sum, any, ...)")
        if isinstance(v, Vec) and what == "the returned value":
            self.fail("vector result", f"the mod returns a vector of {v.size} elements (one value per (b, h, q_idx, "
                      "kv_idx) is needed): reduce it, e.g. with .sum(-1), .any(-1) or torch.dot")
        return v

    def load(self, v: TRef) -> IRNode:
        self.out.tensors[v.name] = {"rank": v.tensor.dim(), "dtype": str(v.tensor.dtype).replace("torch.", "")}
        return {"load": v.name, "index": list(v.index)}

    # -- ops --
    def index(self, base: Arg, idx: List[Arg]) -> Arg:
        if isinstance(base, Vec) and len(idx) == 1 and idx[0] is not None:  # an element of a vector
            i = self.value(idx[0], "an index")
            return Vec(i.size, substitute(base.body, "r", i.body)) if isinstance(i, Vec) else self.pick(base, i)
        if not isinstance(base, TRef):
            self.fail("indexing a computed tensor", "indexing something other than a captured tensor")
        if any(i is None for i in idx):
            self.fail("slice indexing", f"indexing `{base.name}` with a slice or None; index it with one expression per dimension")
        values = [self.value(i, "an index") for i in idx]
        vecs = {v.size for v in values if isinstance(v, Vec)}
        index = base.index + tuple(v.body if isinstance(v, Vec) else v for v in values)
        if len(index) > base.tensor.dim():
            self.fail("too many indices", f"`{base.name}` has {base.tensor.dim()} dimensions, indexed with {len(index)}")
        ref = TRef(base.name, base.tensor, index)
        if vecs:  # a gather by a vector of indices: a vector
            if len(vecs) > 1 or len(index) != base.tensor.dim():
                self.fail("vector indexing", f"indexing `{base.name}` by vectors of lengths {sorted(vecs)} or by fewer indices "
                          "than its dimensions")
            return Vec(vecs.pop(), self.load(ref))
        return self.load(ref) if len(index) == base.tensor.dim() else ref

    def fail(self, construct: str, what: str) -> NoReturn:
        file, line = node_location(self.node, self.files) if self.node is not None else (None, None)
        src = source_line(file, line)
        where = f"{file}:{line}: " if file and line else ""
        raise LowerError(construct, file, line, f"{where}{what} in the {self.kind}_mod" + (f" (at `{src}`)" if src else "")
                         + ": the offline template cannot compile it (the model path still can)")


def tree_size(ir: IRNode, memo: Optional[Dict[int, int]] = None) -> int:
    """Nodes of the IR once every shared sub-expression is inlined (computed over the shared dicts)."""
    memo = {} if memo is None else memo
    if id(ir) in memo:
        return memo[id(ir)]
    kids = []
    for key in ("a", "b", "body"):
        if isinstance(ir.get(key), dict):
            kids.append(ir[key])
    for key in ("args", "index", "where"):
        kids += [k for k in ir.get(key) or [] if isinstance(k, dict)]
    if isinstance(ir.get("neg"), dict) or isinstance(ir.get("not"), dict):
        kids.append(ir.get("neg") or ir.get("not"))
    memo[id(ir)] = n = 1 + sum(tree_size(k, memo) for k in kids)
    return n


def lower(gm: torch.fx.GraphModule, kind: str, names: Dict[int, str], files: Iterable[str]) -> Lowered:
    """The IR of one traced mod (LowerError on what it cannot express)."""
    return Lowerer(gm, kind, names, files).run()
