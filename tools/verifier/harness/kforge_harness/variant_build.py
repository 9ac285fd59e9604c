"""A variant problem's mods and captured tensors for one shape, device and seed, and the mods evaluated over the
full score matrix (the correctness spec of a variant: its own mods, FlexAttention's per-element semantics).

The factory runs with torch's global RNG seeded from `seed` as well, so a factory drawing random tensors
without a generator is still reproducible: a run re-creates the same tensors from (shape, seed).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, cast

import torch

from . import variant as V
from .captures import _clean as clean_name, _unique as unique_name, captured_tensors, relocate
from .getitem import tensor_indexing
from .types import ModSource, ProblemSpec, Shape


@dataclass
class Built:
    """The mods for one shape and seed, and the captured tensors (name -> tensor) the candidate receives."""
    score: Optional[Callable[..., Any]]
    mask: Optional[Callable[..., Any]]
    tensors: Dict[str, torch.Tensor] = field(default_factory=dict)


class VariantParams(dict[str, torch.Tensor]):
    """The keyword arguments of attention(...) for a variant (its captured tensors), carrying the build they
    came from so the reference and the FlexAttention baseline use the very same tensors."""

    built: Built

    def __init__(self, built: Built):
        super().__init__(built.tensors)
        self.built = built


def build(problem: ProblemSpec, folder: str, shape: Shape, device: str, seed: int) -> Built:
    """Imports the variant files in `folder` and builds the mods the problem's `variant` block names."""
    spec = problem["variant"]
    made: Dict[Tuple[str, str], Dict[str, Callable[..., Any]]] = {}
    mods: Dict[str, Optional[Callable[..., Any]]] = {}
    given: Dict[int, str] = {}  # names a factory gave its tensors ({"tensors": {name: t}}), by identity
    sources: Dict[str, Optional[ModSource]] = {"score": spec.get("score"), "mask": spec.get("mask")}
    for kind, src in sources.items():
        if not src:
            mods[kind] = None
            continue
        path = os.path.join(folder, src["file"])
        module = V.load_module(path)
        obj = getattr(module, src["symbol"], None)
        if not callable(obj):
            raise V.VariantError(f"no function `{src['symbol']}` in it", path)
        if not src.get("factory"):
            mods[kind] = obj
            continue
        key = (path, src["symbol"])
        if key not in made:
            made[key] = call_factory(obj, path, shape, device, seed, given)
        if kind not in made[key]:
            raise V.VariantError(f"factory {src['symbol']} returned no {kind}_mod", path, obj.__code__.co_firstlineno)
        mods[kind] = made[key][kind]
    stuck = relocate([mods["score"], mods["mask"]], device)  # e.g. module-level tensors made on the CPU
    if stuck:
        raise V.VariantError(f"captured tensor(s) {', '.join(stuck)} are not on {device} and sit where kforge cannot move "
                             f"them (a tuple or a default argument): create them on the factory's `device`", folder)
    found = rename(captured_tensors([mods["score"], mods["mask"]]), given)
    wanted = spec.get("captured")
    if wanted is None:
        tensors = dict(found)
    else:
        missing = [c["name"] for c in wanted if c["name"] not in found]
        if missing:
            raise V.VariantError(f"the mods no longer capture {', '.join(missing)} (found: {', '.join(found) or 'none'}); "
                                 "the variant file changed since the problem was made: make it again", folder)
        tensors = {c["name"]: found[c["name"]] for c in wanted}
    return Built(mods["score"], mods["mask"], tensors)


def rename(found: Dict[str, torch.Tensor], given: Dict[int, str]) -> Dict[str, torch.Tensor]:
    """The walked names, replaced by the factory's own names for the tensors it named."""
    if not given:
        return found
    out: Dict[str, torch.Tensor] = {}
    for name, t in found.items():
        want = clean_name(given.get(id(t), name))
        out[unique_name(want, out)] = t
    return out


def call_factory(fn: Callable[..., Any], path: str, shape: Shape, device: str, seed: int,
                 given: Optional[Dict[int, str]] = None) -> Dict[str, Callable[..., Any]]:
    """The mods a factory returns for this shape and seed; the names it gives its tensors go into `given`."""
    kwargs = V.bind_factory(fn, path, shape, device, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        try:
            result = fn(**kwargs)
        except V.VariantError:
            raise
        except BaseException as exc:  # noqa: BLE001 - the user's factory failing is theirs to fix
            raise V.user_fault(exc, [path], f"factory {fn.__name__}({_fmt_kwargs(kwargs)}) raised") from None
    if given is not None and isinstance(result, dict) and isinstance(result.get("tensors"), dict):
        given.update({id(t): str(n) for n, t in result["tensors"].items() if torch.is_tensor(t)})
    return V.split_mods(result, path, fn.__name__)


def _fmt_kwargs(kwargs: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if not isinstance(v, torch.Generator))


def _vmap() -> Callable[..., Any]:
    try:
        from torch.func import vmap
    except ImportError:  # torch 1.13
        from functorch import vmap
    return cast(Callable[..., Any], vmap)


def score_grid(score_mod: Callable[..., Any], s: torch.Tensor) -> torch.Tensor:
    """score_mod applied to every element of s [B, H, S_q, S_kv] with its own (b, h, q_idx, kv_idx), as
    FlexAttention applies it (one call per element, vectorised with vmap)."""
    vmap = _vmap()
    fn = score_mod
    for pos in (4, 3, 2, 1):  # the innermost vmap runs over kv_idx
        dims: List[Optional[int]] = [None] * 5
        dims[0] = dims[pos] = 0
        fn = vmap(fn, in_dims=tuple(dims))
    n_b, n_h, n_q, n_kv = s.shape
    idx = [torch.arange(n, device=s.device) for n in (n_b, n_h, n_q, n_kv)]
    with tensor_indexing():
        out = fn(s, *idx)
    return torch.broadcast_to(torch.as_tensor(out, device=s.device), s.shape).to(s.dtype)


def mask_grid(mask_mod: Callable[..., Any], n_b: int, n_h: int, n_q: int, n_kv: int, device: Union[str, torch.device],
              q_start: int = 0) -> torch.Tensor:
    """mask_mod at every (b, h, q_idx, kv_idx) as a bool [B, H, n_q, S_kv] (q_idx from q_start)."""
    vmap = _vmap()
    fn = mask_mod
    for pos in (3, 2, 1, 0):
        dims: List[Optional[int]] = [None] * 4
        dims[pos] = 0
        fn = vmap(fn, in_dims=tuple(dims))
    idx = [torch.arange(n_b, device=device), torch.arange(n_h, device=device),
           torch.arange(q_start, q_start + n_q, device=device), torch.arange(n_kv, device=device)]
    with tensor_indexing():
        out = fn(*idx)
    return torch.broadcast_to(torch.as_tensor(out, device=device), (n_b, n_h, n_q, n_kv)).bool()


def evaluate(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, built: Built) -> torch.Tensor:
    """softmax(score_mod(scale q k^T)) v over the keys mask_mod keeps, in q's dtype; a row with no key gives 0."""
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    s = _mm(q, k.transpose(-2, -1)) * scale
    if built.score is not None:
        s = score_grid(built.score, s)
    if built.mask is None:
        return _mm(_softmax(s), v)
    keep = mask_grid(built.mask, s.shape[0], s.shape[1], s.shape[2], s.shape[3], s.device)
    p = _softmax(s.masked_fill(~keep, float("-inf")))
    return _mm(p.masked_fill(~keep.any(dim=-1, keepdim=True), 0.0), v)


def _emulated(x: torch.Tensor) -> bool:
    """float16 on a CPU whose torch lacks half matmul/softmax (1.x): computed in float32, rounded to float16."""
    return bool(x.dtype == torch.float16 and x.device.type == "cpu")


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.matmul(a.float(), b.float()).to(a.dtype) if _emulated(a) else torch.matmul(a, b)


def _softmax(s: torch.Tensor) -> torch.Tensor:
    return torch.softmax(s.float(), dim=-1).to(s.dtype) if _emulated(s) else torch.softmax(s, dim=-1)
