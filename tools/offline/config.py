"""The offline template's configuration: tiles per head dim and code-variant switches, with H100 defaults.

A config is JSON. `tiles` maps a head dim ("64", "128") to BLOCK_M, BLOCK_N, num_warps, num_stages;
top-level BLOCK_M/BLOCK_N/num_warps/num_stages override every head dim (handy on the command line).
Switches: qscale (fold the score's scale into q once), skip_empty (test each masked key block and
skip empty ones), fast_tanh (tanh.approx.f32), tanh_bf16x2 (packed tanh.approx.bf16x2: half the
MUFU work, bf16 precision), static_max (bounded scores skip the running max),
reverse_m (heaviest query blocks first), mask_split (separate mask-free loop for interior blocks),
affine_kv_bias (a score term a * kv_idx becomes a hoisted column vector plus a per-block scalar folded into
the running max: ALiBi, relative position; not yet measured on the GPU, so off by default),
tma (K/V blocks through host-side TMA tensor descriptors on sm_90+, pointers elsewhere or for strided
inputs; measured slower or even on the H100 for the dense variants, so off by default: NOTES.md),
poly_exp2 (FlashAttention-4 style: half of the score tile's exp2 on the FMA pipe as a degree-3 polynomial
plus exponent-bit arithmetic, the other half on MUFU; measured 3-18% slower on the H100 for dense variants and
even for softcap at D=64, so off by default and a search mutation for tanh problems only: NOTES.md),
block_sparse (the host evaluates the mask per tile once per shape, FlexAttention's block mask, and the kernel
visits only the non-empty key blocks of each query block, masking only the partial ones; on by default for
masks the interval classifier cannot bound, a search mutation for every other mask),
grid2d (masks on a 2-D token grid, `idx // W` and `idx % W`: a program owns a near-square rectangle of queries
and visits only the key rectangle the mask can reach, gathering K/V rows; on by default where it applies),
score_bands (a score reading the offset kv_idx - q_idx only through clamps, a clipped relative-position table: the
mask-free key blocks where every clamp saturates run a score with the clamps folded to their bounds, so a gathered
bias becomes one value per program; on by default where a gather disappears, a search mutation where only the clamp
arithmetic does; not yet measured on the GPU).
"""
from __future__ import annotations

import json
from typing import AbstractSet, Any, Dict

# One head dim's tiles: BLOCK_M, BLOCK_N, num_warps, num_stages.
Tile = Dict[str, int]
# A resolved config (`resolve`): "tiles" ({head dim: Tile} for 16, 32, 64, 128, 256) and every switch (a bool).
Config = Dict[str, Any]

TILE_KEYS = ("BLOCK_M", "BLOCK_N", "num_warps", "num_stages")
ALLOWED = {"BLOCK_M": (16, 32, 64, 128, 256), "BLOCK_N": (16, 32, 64, 128, 256), "num_warps": (1, 2, 4, 8, 16),
           "num_stages": (1, 2, 3, 4, 5, 6)}
SWITCHES = ("qscale", "skip_empty", "fast_tanh", "tanh_bf16x2", "static_max", "reverse_m", "mask_split",
            "affine_kv_bias", "tma", "poly_exp2", "grid2d", "block_sparse", "score_bands")


class ConfigError(Exception):
    """A malformed config; the message names the key."""


def default_tiles(head_dim: int, features: AbstractSet[str]) -> Tile:
    """H100 defaults (BLOCK_M, BLOCK_N, num_warps, num_stages) for a head dim and the problem's features.

    Measured (bench/offline/NOTES.md): 2-D grid masks prefer 64x32 tiles (8x8 query rectangles); other
    sparse masks (window, documents) prefer 64x64
    tiles (finer skipping, more programs); tanh scores prefer 4 warps at D=128; other score_mods at D=64
    prefer 8 warps.
    """
    def t(m: int, n: int, w: int, s: int) -> Tile:
        return {"BLOCK_M": m, "BLOCK_N": n, "num_warps": w, "num_stages": s}

    if head_dim > 128:
        return t(64, 32, 4, 2)
    if "grid2d" in features:  # 8x8 query rectangles, 32 gathered keys a step (NOTES.md, 2-D grid section)
        return t(64, 32, 4, 2) if head_dim <= 64 else t(64, 32, 4, 3)
    if "sparse_mask" in features:
        return t(64, 64, 4, 3) if head_dim <= 64 else t(64, 32, 4, 3)
    if "tanh" in features:
        return t(128, 64, 4, 3) if head_dim <= 64 else t(64, 64, 4, 3)
    if "score_mod" in features:
        return t(128, 64, 4, 3) if head_dim <= 64 else t(128, 64, 8, 3)
    return t(128, 64, 4, 4) if head_dim <= 64 else t(128, 64, 8, 3)


def default_switches(features: AbstractSet[str]) -> Dict[str, bool]:
    """Switch defaults from the problem's features (mask kind, tanh, tensor-indexed masks)."""
    return {
        "qscale": False,
        "skip_empty": False,  # measured: the per-block branch costs more than it saves (natten, documents)
        "fast_tanh": True,
        "tanh_bf16x2": False,
        "static_max": False,  # measured slower than the online max at both head dims (NOTES.md)
        "reverse_m": "mask" in features,
        "mask_split": True,
        "affine_kv_bias": False,
        "tma": False,  # H100: 2-7% slower at D=128, within noise at D=64 (bench/offline/NOTES.md, TMA section)
        "poly_exp2": False,  # H100: slower at both head dims, even where MUFU rivals the tensor pipe (NOTES.md)
        "grid2d": "grid2d" in features,
        "block_sparse": "unbounded_mask" in features,
        "score_bands": "score_bands_gather" in features,
    }


def resolve(raw: Any, features: AbstractSet[str]) -> Config:
    """The full config (every head dim in 16..256 and every switch) from a partial JSON object."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as e:
            raise ConfigError(f"config is not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    known = set(TILE_KEYS) | set(SWITCHES) | {"tiles"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown config key '{key}' (known: {', '.join(sorted(known))})")
    flat = {k: raw[k] for k in TILE_KEYS if k in raw}
    tiles: Dict[int, Tile] = {}
    for d in (16, 32, 64, 128, 256):
        t = dict(default_tiles(d, features))
        t.update((raw.get("tiles") or {}).get(str(d), {}))
        t.update(flat)
        for k, v in t.items():
            if k not in ALLOWED:
                raise ConfigError(f"tiles.{d}: unknown key '{k}'")
            if v not in ALLOWED[k]:
                raise ConfigError(f"tiles.{d}.{k} = {v!r}; allowed: {ALLOWED[k]}")
        tiles[d] = t
    sw = default_switches(features)
    for k in SWITCHES:
        if k in raw:
            if not isinstance(raw[k], bool):
                raise ConfigError(f"switch '{k}' must be true or false")
            sw[k] = raw[k]
    return {"tiles": tiles, **sw}
