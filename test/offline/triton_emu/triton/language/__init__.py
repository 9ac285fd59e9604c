"""triton.language for the CPU emulator: tensors are torch tensors, pointers are (flat base, offsets)."""
import re as _re
import types as _types

import torch

float32 = torch.float32
float16 = torch.float16
bfloat16 = torch.bfloat16
int32 = torch.int32
int64 = torch.int64
int1 = torch.bool

_PROGRAM_ID = [0, 0, 0]


class constexpr:  # noqa: N801  (Triton's name)
    """Annotation marker only."""

    def __init__(self, v=None):
        self.value = v


class _PtrType:
    def __init__(self, dt):
        self.element_ty = dt


class Ptr:
    """A pointer tensor: a flat base tensor plus integer offsets (any shape)."""

    def __init__(self, base, off):
        self.base, self.off = base, off

    @property
    def dtype(self):
        return _PtrType(self.base.dtype)

    def __add__(self, o):
        return Ptr(self.base, self.off + _t(o))

    __radd__ = __add__

    def __sub__(self, o):
        return Ptr(self.base, self.off - _t(o))


def _t(x):
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, bool):
        return torch.tensor(x)
    if isinstance(x, int):
        return torch.tensor(x, dtype=torch.int64)
    return torch.tensor(float(x), dtype=torch.float32)


def _scalar(x):
    return _t(x)


def program_id(axis):
    return torch.tensor(_PROGRAM_ID[axis], dtype=torch.int64)


_NUM_PROGRAMS = [1, 1, 1]


def num_programs(axis):
    return torch.tensor(_NUM_PROGRAMS[axis], dtype=torch.int64)


def arange(start, end):
    return torch.arange(int(start), int(end), dtype=torch.int64)


def full(shape, value, dtype):
    return torch.full(tuple(int(s) for s in shape), value, dtype=dtype)


def zeros(shape, dtype):
    return full(shape, 0, dtype)


def load(ptr, mask=None, other=None, **_):
    off = _t(ptr.off)
    if mask is None:
        return ptr.base[off.long()]
    mask = torch.broadcast_to(_t(mask), torch.broadcast_shapes(off.shape, _t(mask).shape))
    off = torch.broadcast_to(off, mask.shape)
    safe = torch.where(mask, off.long(), torch.zeros_like(off).long())
    val = ptr.base[safe]
    fill = torch.zeros((), dtype=val.dtype) if other is None else _t(other).to(val.dtype)
    return torch.where(mask, val, fill)


def store(ptr, value, mask=None, **_):
    value = _t(value)
    shape = torch.broadcast_shapes(ptr.off.shape, value.shape, *([] if mask is None else [_t(mask).shape]))
    off = torch.broadcast_to(ptr.off, shape).long()
    val = torch.broadcast_to(value, shape).to(ptr.base.dtype)
    if mask is not None:
        m = torch.broadcast_to(_t(mask), shape)
        off, val = off[m], val[m]
    ptr.base[off.reshape(-1)] = val.reshape(-1)


def _tf32(x):
    """x rounded to TF32 (10 mantissa bits, to nearest, ties away: cvt.rna.tf32.f32), as tensor cores read fp32."""
    return ((x.contiguous().view(torch.int32) + 0x1000) & -0x2000).view(torch.float32)


def dot(a, b, acc=None, input_precision=None, **_):
    a, b = _t(a), _t(b)
    assert a.dim() == 2 and b.dim() == 2 and a.shape[1] == b.shape[0], f"tl.dot of {list(a.shape)} and {list(b.shape)}"
    assert a.dtype == b.dtype, f"tl.dot of {a.dtype} and {b.dtype}"
    assert all(n >= 16 for n in (a.shape[0], a.shape[1], b.shape[1])), "tl.dot needs every dim >= 16"
    if a.dtype == torch.float32 and input_precision != "ieee":  # Triton's default for fp32 operands is tf32
        a, b = _tf32(a), _tf32(b)
    out = a.float() @ b.float()
    return out if acc is None else acc + out


def broadcast_to(x, *shape):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (list, tuple)) else shape
    return torch.broadcast_to(_t(x), tuple(int(s) for s in shape))


def trans(x, *_):
    return x.transpose(0, 1)


def where(c, a, b):
    a, b = _t(a), _t(b)
    if a.dtype != b.dtype:
        dt = torch.promote_types(a.dtype, b.dtype)
        if a.dim() == 0 and not a.dtype.is_floating_point and b.dtype.is_floating_point:
            dt = b.dtype
        if b.dim() == 0 and not b.dtype.is_floating_point and a.dtype.is_floating_point:
            dt = a.dtype
        a, b = a.to(dt), b.to(dt)
    return torch.where(_t(c), a, b)


def maximum(a, b):
    a, b = _t(a), _t(b)
    return torch.maximum(a, b.to(a.dtype) if a.dim() else b)


def minimum(a, b):
    a, b = _t(a), _t(b)
    return torch.minimum(a, b.to(a.dtype) if a.dim() else b)


def max(x, axis=None, **_):  # noqa: A001
    return x.max() if axis is None else x.max(dim=axis).values


def min(x, axis=None, **_):  # noqa: A001
    return x.min() if axis is None else x.min(dim=axis).values


def sum(x, axis=None, **_):  # noqa: A001
    return x.sum() if axis is None else x.sum(dim=axis)


def exp2(x):
    return torch.exp2(_t(x).float())


def exp(x):
    return torch.exp(_t(x).float())


def log(x):
    return torch.log(_t(x).float())


def log2(x):
    return torch.log2(_t(x).float())


def abs(x):  # noqa: A001
    return torch.abs(_t(x))


def cdiv(a, b):
    return (a + b - 1) // b


def multiple_of(x, *_):
    return x


def max_contiguous(x, *_):
    return x


def static_assert(cond, msg=""):
    assert cond, msg


def inline_asm_elementwise(asm, constraints, args, dtype, is_pure, pack):
    if "tanh.approx" in asm:
        return torch.tanh(args[0].float())
    m = _re.fullmatch(r"add\.rm\.f32 \$0, \$1, 0f([0-9A-Fa-f]{8});", asm.strip())
    if m:  # poly_exp2's floor: x + a float32 constant, rounded down
        c = torch.tensor(int(m.group(1), 16), dtype=torch.int32).view(torch.float32).item()
        return _add_rm(args[0], c)
    raise NotImplementedError(f"emulator: inline asm {asm!r}")


def range(*args, **_):  # noqa: A001
    return __builtins__["range"](*[int(a) for a in args]) if isinstance(__builtins__, dict) else \
        __import__("builtins").range(*[int(a) for a in args])


static_range = range


def sqrt(x):
    return torch.sqrt(_t(x).float())


def rsqrt(x):
    return torch.rsqrt(_t(x).float())


def sigmoid(x):
    return torch.sigmoid(_t(x).float())


def floor(x):
    return torch.floor(_t(x).float())


def ceil(x):
    return torch.ceil(_t(x).float())


def sin(x):
    return torch.sin(_t(x).float())


def cos(x):
    return torch.cos(_t(x).float())


def erf(x):
    x = _t(x)
    assert x.dtype in (torch.float32, torch.float64), "tl.math.erf takes fp32 or fp64"
    return torch.erf(x)


def cumsum(x, axis=0, **_):
    return torch.cumsum(_t(x), dim=axis)


math = _types.SimpleNamespace(exp2=exp2, exp=exp, log=log, log2=log2, abs=abs, fma=lambda a, b, c: fma(a, b, c),
                              sqrt=sqrt, rsqrt=rsqrt, sigmoid=sigmoid, floor=floor, ceil=ceil, sin=sin, cos=cos,
                              erf=erf)


def cast(x, dtype, bitcast=False, **_):
    x = _t(x)
    return x.view(dtype) if bitcast else x.to(dtype)


def reshape(x, *shape, can_reorder=False, **_):
    """tl.reshape: row-major, as Triton's (can_reorder=False) reshape."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (list, tuple)) else shape
    return _t(x).reshape(tuple(int(s) for s in shape))


def permute(x, *dims):
    dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims
    return _t(x).permute(*(int(d) for d in dims))


def split(x):
    """tl.split: a tensor whose last dim is 2 -> its two halves."""
    assert x.shape[-1] == 2, "tl.split needs a last dim of size 2"
    return x[..., 0], x[..., 1]


def join(a, b):
    """tl.join: two tensors of one shape -> one with a new last dim of size 2."""
    return torch.stack(torch.broadcast_tensors(_t(a), _t(b)), dim=-1)


def fma(a, b, c):
    return (_t(a).double() * _t(b).double() + _t(c).double()).float()


def _add_rm(x, c):
    """add.rm.f32: x + c rounded toward -inf (exact sum in float64, then the float32 at or below it)."""
    s = _t(x).double() + c
    r = s.float()
    return torch.where(r.double() > s, torch.nextafter(r, torch.tensor(float("-inf"))), r)
