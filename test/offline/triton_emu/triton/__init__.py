"""A tiny CPU emulator of the Triton subset kforge's kernels use, for CI machines without Triton.

It runs each program instance as plain Python over torch CPU tensors (like TRITON_INTERPRET, but
with no Triton install and on torch 1.13). It checks kernel *logic* (masks, block skipping, GQA,
boundaries); it cannot check what only the real compiler sees (types, layouts, resources).
"""
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


class JITFunction:
    """A @triton.jit function: callable from other kernels, launchable with kernel[grid](...)."""

    def __init__(self, fn):
        self.raw, self._fn, self.__name__ = fn, None, fn.__name__

    @property
    def fn(self):
        """The function over its module's globals as they are at the first call (Triton too resolves a kernel's
        globals when it compiles it, so hooks defined later in the module are found)."""
        if self._fn is None:
            fn = self.raw
            g = dict(fn.__globals__)
            g["range"] = _range
            self._fn = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
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
