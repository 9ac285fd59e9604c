"""A tiny CPU emulator of the Triton subset kforge's kernels use, for CI machines without Triton.

It runs each program instance as plain Python over torch CPU tensors (integer // and % rewritten to truncate as
Triton's do) (like TRITON_INTERPRET, but
with no Triton install and on torch 1.13). It checks kernel *logic* (masks, block skipping, GQA,
boundaries); it cannot check what only the real compiler sees (types, layouts, resources).
"""
import ast
import builtins
import itertools
import types

import torch

from . import language  # noqa: F401  (triton.language must be importable as an attribute)
from .language import Ptr, _scalar


def cdiv(a, b):
    """Ceiling division, as triton.cdiv."""
    return (a + b - 1) // b


def next_power_of_2(n):
    """Smallest power of two >= n, as triton.next_power_of_2."""
    n = int(n)
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def _range(*args):
    """range() inside a kernel accepts 0-d tensors as bounds, as Triton's does."""
    return builtins.range(*[int(a) for a in args])


def _is_int_tensor(x):
    return isinstance(x, torch.Tensor) and not x.dtype.is_floating_point and x.dtype != torch.bool


def _c_floordiv(a, b):
    """Triton's // : on integer tensors it truncates toward zero (C), on Python ints (constexprs) it floors."""
    if (_is_int_tensor(a) or _is_int_tensor(b)) and not any(isinstance(x, float) or (
            isinstance(x, torch.Tensor) and x.dtype.is_floating_point) for x in (a, b)):
        return torch.div(_scalar(a), _scalar(b), rounding_mode="trunc")
    return a // b


def _c_mod(a, b):
    """Triton's % : on integer tensors the remainder has the dividend's sign (C), on Python ints it floors."""
    if (_is_int_tensor(a) or _is_int_tensor(b)) and not any(isinstance(x, float) or (
            isinstance(x, torch.Tensor) and x.dtype.is_floating_point) for x in (a, b)):
        return torch.fmod(_scalar(a), _scalar(b))
    return a % b


class _CDivision(ast.NodeTransformer):
    """a // b and a % b inside a kernel become _c_floordiv(a, b) and _c_mod(a, b)."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        name = {ast.FloorDiv: "_c_floordiv", ast.Mod: "_c_mod"}.get(type(node.op))
        if name is None:
            return node
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [node.left, node.right], []), node)


def _c_integer_division(fn):
    """fn's code with Triton's integer division semantics (the emulator's torch tensors would floor instead).

    Called at decoration time and reading the file itself (not linecache): the file is then the one being imported,
    even when a test rewrites the same path for the next module."""
    path, first = fn.__code__.co_filename, fn.__code__.co_firstlineno
    try:
        with open(path) as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return fn.__code__
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == fn.__name__
             and first in [n.lineno] + [d.lineno for d in n.decorator_list]]
    if len(found) != 1:
        return fn.__code__
    fdef = found[0]
    fdef.decorator_list = []
    module = ast.fix_missing_locations(ast.Module(body=[_CDivision().visit(fdef)], type_ignores=[]))
    code = compile(module, path, "exec")
    return next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == fn.__name__)


class JITFunction:
    """A @triton.jit function: callable from other kernels, launchable with kernel[grid](...)."""

    def __init__(self, fn):
        # the source is read now, while the file is the one being imported (a later module may overwrite it)
        self.raw, self._fn, self.__name__, self._code = fn, None, fn.__name__, _c_integer_division(fn)

    @property
    def fn(self):
        """The function over its module's globals as they are at the first call (Triton too resolves a kernel's
        globals when it compiles it, so hooks defined later in the module are found)."""
        if self._fn is None:
            fn = self.raw
            g = dict(fn.__globals__)
            g.update(range=_range, _c_floordiv=_c_floordiv, _c_mod=_c_mod)
            self._fn = types.FunctionType(self._code, g, fn.__name__, fn.__defaults__, fn.__closure__)
            self._fn.__kwdefaults__ = fn.__kwdefaults__
        return self._fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __getitem__(self, grid):
        def launch(*args, num_warps=4, num_stages=3, **kwargs):
            meta = dict(kwargs)
            g = grid(meta) if callable(grid) else grid
            g = tuple(int(x) for x in g) + (1,) * (3 - len(g))
            conv = [_pointer(a) for a in args]
            language._NUM_PROGRAMS[:] = list(g)
            for z, y, x in itertools.product(*(builtins.range(n) for n in reversed(g))):
                language._PROGRAM_ID[:] = [x, y, z]
                self.fn(*conv, **kwargs)
        return launch


def _pointer(a):
    """A kernel argument as the kernel sees it: tensors become pointers, tuples are converted element-wise."""
    if isinstance(a, tuple):
        return tuple(_pointer(x) for x in a)
    if not isinstance(a, torch.Tensor):
        return a
    if not a.is_contiguous():
        raise NotImplementedError("emulator: pass contiguous tensors")
    return Ptr(a.reshape(-1), 0)


def jit(fn=None, **_):
    """@triton.jit, with or without arguments."""
    if fn is None:
        return lambda f: JITFunction(f)
    return JITFunction(fn)


__all__ = ["jit", "cdiv", "next_power_of_2", "JITFunction", "_scalar"]
