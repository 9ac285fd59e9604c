"""A minimal stand-in for `torch.nn.attention.flex_attention` on a torch that lacks it (Debian's 1.13, which the
CPU tests use): the mask combinators variant files import (and_masks, or_masks, noop_mask). It is installed
only when the real module cannot be imported, so on the GPU host (torch 2.11) users' files get the real one;
it never provides flex_attention or create_block_mask, so the baselines still report FlexAttention missing."""
from __future__ import annotations

import importlib
import sys
import types
from typing import Any, Callable

import torch

# mask_mod(b, h, q_idx, kv_idx) -> a bool tensor (FlexAttention's signature)
MaskMod = Callable[[Any, Any, Any, Any], Any]


def and_masks(*mask_mods: MaskMod) -> MaskMod:
    """A mask_mod keeping (b, h, q_idx, kv_idx) only when every mask_mod keeps it."""
    def and_mask(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        result = b.new_ones((), dtype=torch.bool)
        for mod in mask_mods:
            result = result & mod(b, h, q_idx, kv_idx)
        return result
    return and_mask


def or_masks(*mask_mods: MaskMod) -> MaskMod:
    """A mask_mod keeping (b, h, q_idx, kv_idx) when any mask_mod keeps it."""
    def or_mask(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        result = b.new_zeros((), dtype=torch.bool)
        for mod in mask_mods:
            result = result | mod(b, h, q_idx, kv_idx)
        return result
    return or_mask


def noop_mask(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
    """Keeps every pair."""
    return b.new_ones((), dtype=torch.bool)


def install() -> bool:
    """Makes `from torch.nn.attention.flex_attention import and_masks, ...` work; False when torch has its own."""
    try:
        importlib.import_module("torch.nn.attention.flex_attention")
        return False
    except ImportError:
        pass
    pkg: Any = sys.modules.get("torch.nn.attention")  # Any: the attributes set below are not ModuleType's
    if pkg is None:
        pkg = types.ModuleType("torch.nn.attention")
        pkg.__path__ = []  # a package, so its submodule resolves from sys.modules
        sys.modules["torch.nn.attention"] = pkg
        torch.nn.attention = pkg
    mod: Any = types.ModuleType("torch.nn.attention.flex_attention")
    mod.__doc__ = "kforge's compat stand-in (kforge_harness/flex_compat.py): mask combinators only"
    mod.and_masks, mod.or_masks, mod.noop_mask = and_masks, or_masks, noop_mask
    sys.modules["torch.nn.attention.flex_attention"] = mod
    pkg.flex_attention = mod
    return True
