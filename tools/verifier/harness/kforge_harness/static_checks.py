"""Static (AST) anti-cheat rules, checked before the candidate is imported.

Rules (ids are part of the VerifyResult contract):
  static.torch_compute     PyTorch compute outside @triton.jit functions (GPU only: on CPU torch is the kernel)
  static.forbidden_api     SDPA, FlexAttention, torch.nn, torch.compile, torch.ops, monkey-patching, reflection
  static.forbidden_import  threads, processes, sockets, ctypes, importlib, eval/exec, os.system, sys.modules ...
  static.side_stream       CUDA streams and graphs
  static.timer_patch       torch.cuda.Event, or assigning to timers (time.*, torch.cuda.synchronize ...)
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, List, Optional, Set

FORBIDDEN_MODULES = {
    "threading", "_thread", "multiprocessing", "concurrent", "asyncio", "subprocess", "socket", "ssl",
    "ctypes", "cffi", "importlib", "builtins", "gc", "inspect", "signal", "pty", "pickle", "marshal",
    "shutil", "http", "urllib", "requests", "runpy", "code", "codeop", "faulthandler", "resource", "mmap",
    "atexit", "pdb", "sched", "selectors", "select", "torch.multiprocessing", "torch.distributed",
}
FORBIDDEN_OS = {"system", "popen", "fork", "forkpty", "kill", "killpg", "_exit", "dup", "dup2", "write", "open",
                "putenv", "unsetenv", "setsid", "setpgid", "execv", "execve", "execl", "execlp", "execvp",
                "execvpe", "spawnv", "spawnve", "spawnl", "posix_spawn", "register_at_fork", "pipe"}
FORBIDDEN_SYS = {"modules", "settrace", "setprofile", "_getframe", "meta_path", "path_hooks", "exit",
                 "setrecursionlimit", "addaudithook", "stdout", "stderr", "stdin"}
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint", "input"}
REFLECTION_BUILTINS = {"open", "setattr", "delattr", "globals", "locals", "vars"}
REFLECTION_ATTRS = {"__dict__", "__class__", "__subclasses__", "__globals__", "__code__", "__closure__",
                    "__getattribute__", "__builtins__", "__bases__", "__mro__", "__func__", "__self__"}

# Qualified-name prefixes (after alias resolution) and the rule they break.
FORBIDDEN_API_PREFIXES = [
    "torch.nn", "torch.compile", "torch._dynamo", "torch._inductor", "torch.ops", "torch._C", "torch.library",
    "torch.jit", "torch.backends", "torch._higher_order_ops", "torch.func", "torch.autograd", "torch.fx",
    "triton.ops", "flash_attn", "xformers", "apex", "transformer_engine", "flashinfer", "vllm", "sglang",
    "deepspeed", "thunder", "cutlass", "cudnn",
]
SIDE_STREAM_PREFIXES = ["torch.cuda.Stream", "torch.cuda.stream", "torch.cuda.ExternalStream", "torch.cuda.set_stream",
                        "torch.cuda.graph", "torch.cuda.CUDAGraph", "torch.cuda.graphs", "torch.cuda.make_graphed_callables",
                        "torch.Stream", "torch.cuda.streams"]
SIDE_STREAM_METHODS = {"wait_stream", "record_stream", "wait_event"}
TIMER_PREFIXES = ["torch.cuda.Event", "torch.Event", "torch.cuda.Event.elapsed_time", "torch.cuda.Event.record"]
TIMER_ATTRS = {"Event", "synchronize", "elapsed_time", "record", "perf_counter", "perf_counter_ns", "time",
               "time_ns", "monotonic", "monotonic_ns", "process_time", "do_bench", "current_stream"}
PATCHABLE_ROOTS = ("torch", "triton", "time", "os", "sys", "math", "numpy")

# torch.<name> a kernel module may use: allocation, metadata, dtypes. Everything else computes.
TORCH_ALLOWED = {
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "tensor", "as_tensor", "is_tensor", "Tensor", "Size", "device", "dtype", "finfo", "iinfo", "cuda",
    "float32", "float", "float16", "half", "bfloat16", "float64", "double", "int8", "uint8", "int16", "int32",
    "int", "int64", "long", "bool", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
    "utils", "version", "__version__", "no_grad", "inference_mode", "Generator", "get_default_dtype",
    "is_floating_point", "numel", "promote_types", "contiguous_format", "preserve_format", "strided",
}
TORCH_CUDA_ALLOWED = {"current_device", "device_count", "get_device_properties", "get_device_capability",
                      "get_device_name", "is_available", "device", "set_device", "synchronize", "current_stream",
                      "default_stream", "empty_cache"}
TORCH_UTILS_ALLOWED = ("torch.utils.cpp_extension",)
# Tensor methods that compute (a method call cannot be typed statically, so this is a deny list).
COMPUTE_METHODS = {
    "matmul", "mm", "bmm", "baddbmm", "addmm", "addbmm", "einsum", "softmax", "log_softmax", "exp", "exp2", "log",
    "sum", "mean", "max", "min", "amax", "amin", "logsumexp", "tanh", "sigmoid", "relu", "mul", "mul_", "add",
    "add_", "sub", "sub_", "div", "div_", "masked_fill", "masked_fill_", "where", "clamp", "clamp_", "pow",
    "sqrt", "rsqrt", "cumsum", "sort", "topk", "norm", "tril", "triu", "repeat_interleave", "repeat", "gather",
    "scatter", "scatter_add", "index_select", "outer", "dot", "tensordot", "addcmul", "lerp", "expm1", "abs",
    "neg", "reciprocal", "square", "var", "std", "prod", "argmax", "argmin", "nan_to_num", "baddbmm_", "float_power",
}


@dataclass
class Violation:
    rule: str
    message: str
    line: int


def check_source(source: str, device: str = "cuda") -> List[Violation]:
    """Every rule violation in the source, sorted by line. A syntax error yields no violations
    (the import reports it as a compile error)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    v = _Checker(device, _parameter_names(tree))
    v.visit(tree)
    unique = {(x.line, x.rule): x for x in reversed(v.found)}  # one report per rule and line (the outermost)
    return sorted(unique.values(), key=lambda x: x.line)


def _parameter_names(tree: ast.AST) -> Set[str]:
    """Function parameters may shadow builtins (`def attention(input, ...)`), so those names are not flagged."""
    return {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}


def _is_jit_decorated(fn: ast.AST) -> bool:
    for d in getattr(fn, "decorator_list", []):
        target = d.func if isinstance(d, ast.Call) else d
        text = ast.unparse(target) if hasattr(ast, "unparse") else ""
        if text.split(".")[-1] in ("jit", "autotune", "heuristics"):
            return True
    return False


class _Checker(ast.NodeVisitor):
    def __init__(self, device: str, params: Set[str]):
        self.device = device
        self.params = params
        self.aliases: Dict[str, str] = {}  # local name -> qualified module/object name
        self.found: List[Violation] = []
        self.in_jit = 0

    def add(self, rule: str, node: ast.AST, message: str) -> None:
        self.found.append(Violation(rule, message, getattr(node, "lineno", 0)))

    # ---- imports ----
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._check_module(node, a.name)
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        self._check_module(node, mod)
        for a in node.names:
            qual = f"{mod}.{a.name}" if mod else a.name
            self._check_qualified(node, qual)
            self.aliases[a.asname or a.name] = qual

    def _check_module(self, node: ast.AST, mod: str) -> None:
        if any(mod == m or mod.startswith(m + ".") for m in FORBIDDEN_MODULES):
            self.add("static.forbidden_import", node, f"import of `{mod}` is not allowed in a kernel module")
        self._check_qualified(node, mod)

    # ---- names and attributes ----
    def _qualify(self, node: ast.AST) -> Optional[str]:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id]] + parts[::-1])
        return None

    def _check_qualified(self, node: ast.AST, qual: str) -> None:
        if not qual:
            return
        if any(qual == p or qual.startswith(p + ".") for p in SIDE_STREAM_PREFIXES):
            self.add("static.side_stream", node, f"`{qual}`: work must run on the current stream (no side streams or graphs)")
        elif any(qual == p or qual.startswith(p + ".") for p in TIMER_PREFIXES):
            self.add("static.timer_patch", node, f"`{qual}`: a kernel module has no business with the timers")
        elif any(qual == p or qual.startswith(p + ".") for p in FORBIDDEN_API_PREFIXES):
            self.add("static.forbidden_api", node, f"`{qual}` is not allowed: do the work in your own kernels")
        elif "scaled_dot_product_attention" in qual or "flex_attention" in qual or "create_block_mask" in qual:
            self.add("static.forbidden_api", node, f"`{qual}` is not allowed: do the work in your own kernels")
        elif qual.startswith("os.") and qual.split(".")[1] in FORBIDDEN_OS:
            self.add("static.forbidden_import", node, f"`{qual}` is not allowed in a kernel module")
        elif qual.startswith("sys.") and qual.split(".")[1] in FORBIDDEN_SYS:
            self.add("static.forbidden_import", node, f"`{qual}` is not allowed in a kernel module")
        elif qual.startswith("torch.") and self.device != "cpu" and not self.in_jit:
            self._check_torch_compute(node, qual)

    def _check_torch_compute(self, node: ast.AST, qual: str) -> None:
        parts = qual.split(".")
        if parts[1] == "Tensor" and len(parts) > 2 and parts[2] in COMPUTE_METHODS:
            self.add("static.torch_compute", node, f"`{qual}` computes with PyTorch; do the work in your kernel")
        elif parts[1] == "cuda":
            if len(parts) > 2 and parts[2] not in TORCH_CUDA_ALLOWED:
                self.add("static.torch_compute", node, f"`{qual}` is not an allocation or metadata call")
        elif parts[1] == "utils":
            if len(parts) > 2 and not any(qual.startswith(p) for p in TORCH_UTILS_ALLOWED):
                self.add("static.forbidden_api", node, f"`{qual}` is not allowed (only torch.utils.cpp_extension)")
        elif parts[1] not in TORCH_ALLOWED:
            self.add("static.torch_compute", node,
                     f"`{qual}` computes with PyTorch: PyTorch may only allocate and reshape, the work must be your kernels'")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in REFLECTION_ATTRS:
            self.add("static.forbidden_api", node, f"`.{node.attr}` (reflection) is not allowed in a kernel module")
        qual = self._qualify(node)
        if qual is not None and isinstance(node.ctx, ast.Load):
            self._check_qualified(node, qual)
            return  # the chain is judged as a whole
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.params:
            return
        if node.id in FORBIDDEN_BUILTINS and node.id not in self.aliases:
            self.add("static.forbidden_import", node, f"`{node.id}` is not allowed in a kernel module")
        elif node.id in REFLECTION_BUILTINS and node.id not in self.aliases:
            self.add("static.forbidden_api", node, f"`{node.id}` (reflection or file access) is not allowed in a kernel module")
        elif node.id == "getattr" and node.id not in self.aliases:
            pass  # judged at the call: getattr on a module is reflection, getattr(obj, "x") on data is fine
        elif node.id in self.aliases and isinstance(node.ctx, ast.Load):
            self._check_qualified(node, self.aliases[node.id])

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name) and f.id == "getattr" and node.args and self._qualify_any(node.args[0]):
            self.add("static.forbidden_api", node, "getattr() on a module is not allowed (reflection)")
        if isinstance(f, ast.Attribute) and self._qualify(f) is None and not self.in_jit:
            if f.attr in SIDE_STREAM_METHODS:
                self.add("static.side_stream", node, f"`.{f.attr}()`: work must run on the current stream")
            elif f.attr in COMPUTE_METHODS and self.device != "cpu":
                self.add("static.torch_compute", node,
                         f"`.{f.attr}()` outside a @triton.jit function computes with PyTorch; do the work in your kernel")
        self.generic_visit(node)

    def _qualify_any(self, node: ast.AST) -> Optional[str]:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        return self._qualify(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult) and not self.in_jit and self.device != "cpu":
            self.add("static.torch_compute", node, "`@` (matmul) outside a @triton.jit function computes with PyTorch")
        self.generic_visit(node)

    # ---- assignments: monkey-patching ----
    def _check_store(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._check_store(t)
            return
        if not isinstance(target, ast.Attribute):
            return
        qual = self._qualify(target)
        if qual is None or qual.split(".")[0] not in PATCHABLE_ROOTS:
            return
        if any(p in TIMER_ATTRS for p in qual.split(".")[1:]):
            self.add("static.timer_patch", target, f"assigning `{qual}` patches a timer")
        else:
            self.add("static.forbidden_api", target, f"assigning `{qual}` monkey-patches a library")

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._check_store(t)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_store(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._check_store(t)
        self.generic_visit(node)

    # ---- function scopes: @triton.jit bodies are the kernel, anything goes inside ----
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        jit = _is_jit_decorated(node)
        self.in_jit += jit
        for stmt in node.body:
            self.visit(stmt)
        self.in_jit -= jit

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]


def jit_function_names(source: str) -> List[str]:
    """Names of @triton.jit functions and CUDA __global__ kernels (in load_inline sources) in the module."""
    import re

    names: List[str] = []
    try:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_jit_decorated(node):
                names.append(node.name)
    except SyntaxError:
        pass
    plain = re.sub(r"__launch_bounds__\s*\([^)]*\)", " ", source)
    names += re.findall(r"__global__[^(;{]*?\b([A-Za-z_]\w*)\s*\(", plain)
    return sorted(set(names))
