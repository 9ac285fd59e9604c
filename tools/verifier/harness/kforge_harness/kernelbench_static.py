"""Static (AST) rules for KernelBench candidates: the attention rules (static_checks), with torch.nn allowed as
far as a module needs it (nn.Module, nn.Parameter, layers as parameter holders), plus rules of this kind:

  static.reference_model      ModelNew inherits from, builds, calls or copies `Model` (the reference does the work)
  static.kernel_not_launched  a @triton.jit kernel that nothing launches (`kernel[grid](...)`) or calls
  static.lazy_output          a torch.Tensor subclass or __torch_function__/__torch_dispatch__ (values made on access)
  static.torch_compute        (GPU) torch.nn.functional, or calling a layer held in self (`self.linear(x)`)
"""
from __future__ import annotations

import ast
from typing import Dict, List, Set, Union

from .static_checks import Violation, _Checker, _is_jit_decorated, _parameter_names, check_source

# torch.nn names a module may use to hold state: building them allocates parameters, calling them computes.
NN_HOLDERS = {
    "Module", "Parameter", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Identity", "Linear",
    "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "BatchNorm1d",
    "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "RMSNorm", "Embedding", "init", "Sequential",
}

NN_LAYERS = NN_HOLDERS - {"Parameter", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Module", "init"}


class _KernelBenchChecker(_Checker):
    def _check_qualified(self, node: ast.AST, qual: str) -> None:
        if qual in ("torch.nn", "torch.nn.functional") or qual.startswith("torch.nn.functional."):
            if self.device != "cpu" and qual != "torch.nn" and not self.in_jit:
                self.add("static.torch_compute", node, f"`{qual}` computes with PyTorch: do the work in your own kernels")
            return
        if qual.startswith("torch.nn."):
            head = qual.split(".")[2]
            if head in NN_HOLDERS:
                return
        super()._check_qualified(node, qual)


def check_kernelbench_source(source: str, device: str = "cuda") -> List[Violation]:
    """Every violation, sorted by line; a syntax error yields none (the import reports it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    base = _KernelBenchChecker(device, _parameter_names(tree))
    base.visit(tree)
    found = base.found + _kind_rules(tree, device)
    unique = {(x.line, x.rule): x for x in reversed(found)}
    return sorted(unique.values(), key=lambda x: x.line)


def _kind_rules(tree: ast.Module, device: str) -> List[Violation]:
    out: List[Violation] = []
    jit = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_jit_decorated(n)]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            if node.name == "Model":
                out.append(Violation("static.reference_model", "the candidate defines its own `Model`: write ModelNew, "
                                     "do not copy the reference", node.lineno))
            if any(b.split(".")[-1] == "Model" for b in bases):
                out.append(Violation("static.reference_model", f"`{node.name}` inherits from Model: the reference would "
                                     "do the work", node.lineno))
            if any(b in ("torch.Tensor", "Tensor") for b in bases):
                out.append(Violation("static.lazy_output", f"`{node.name}` subclasses torch.Tensor: return plain tensors "
                                     "whose values your kernels wrote", node.lineno))
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in ("__torch_function__", "__torch_dispatch__"):
                    out.append(Violation("static.lazy_output", f"`{item.name}` intercepts torch calls", item.lineno))
        elif isinstance(node, ast.Name) and node.id == "Model" and isinstance(node.ctx, ast.Load):
            out.append(Violation("static.reference_model", "`Model` is used: ModelNew must not build, call or wrap the "
                                 "reference", node.lineno))
    launched = _launched_names(tree, jit)
    for fn in jit:
        if fn.name not in launched:
            out.append(Violation("static.kernel_not_launched", f"@triton.jit `{fn.name}` is defined but never launched "
                                 f"(`{fn.name}[grid](...)`): the work must be done by the kernels you write", fn.lineno))
    if device != "cpu":
        out += _layer_calls(tree)
    return out


def _launched_names(tree: ast.Module, jit: List[Union[ast.FunctionDef, ast.AsyncFunctionDef]]) -> Set[str]:
    """Kernels launched from host code (`k[grid](...)`) or called from a kernel that is itself launched."""
    names = {fn.name for fn in jit}
    host: Set[str] = set()
    calls: Dict[str, Set[str]] = {fn.name: set() for fn in jit}
    jit_nodes = {id(n) for fn in jit for n in ast.walk(fn)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in names:
            if id(node) not in jit_nodes:
                host.add(node.value.id)
    for fn in jit:
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                calls[fn.name].add(node.func.id)
    seen: Set[str] = set()
    todo = list(host)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += list(calls.get(n, ()))
    return seen


def _layer_calls(tree: ast.Module) -> List[Violation]:
    """`self.x(...)` where self.x was assigned a torch.nn layer: the layer computes, not your kernel."""
    layers: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            callee = ast.unparse(node.value.func)
            if callee.split(".")[-1] in NN_LAYERS:
                for t in node.targets:
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                        layers.add(t.attr)
    out: List[Violation] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in layers
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"):
            out.append(Violation("static.torch_compute", f"`self.{node.func.attr}(...)` runs a PyTorch layer; use its "
                                 "parameters in your own kernel instead", node.lineno))
    return out


__all__ = ["check_kernelbench_source", "check_source"]
