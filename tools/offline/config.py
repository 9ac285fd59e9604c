"""The offline template's configuration: tiles per head dim and code-variant switches, with H100 defaults.

A config is JSON. `tiles` maps a head dim ("64", "128") to BLOCK_M, BLOCK_N, num_warps, num_stages;
top-level BLOCK_M/BLOCK_N/num_warps/num_stages override every head dim (handy on the command line).
Switches: qscale (fold the score's scale into q once), skip_empty (test each masked key block and
skip empty ones), fast_tanh (tanh.approx.f32), tanh_bf16x2 (packed tanh.approx.bf16x2: half the
MUFU work, bf16 precision), static_max (bounded scores skip the running max),
reverse_m (heaviest query blocks first), mask_split (separate mask-free loop for interior blocks).
"""
import json

TILE_KEYS = ("BLOCK_M", "BLOCK_N", "num_warps", "num_stages")
ALLOWED = {"BLOCK_M": (16, 32, 64, 128, 256), "BLOCK_N": (16, 32, 64, 128, 256), "num_warps": (1, 2, 4, 8, 16),
           "num_stages": (1, 2, 3, 4, 5, 6)}
SWITCHES = ("qscale", "skip_empty", "fast_tanh", "tanh_bf16x2", "static_max", "reverse_m", "mask_split")


class ConfigError(Exception):
    """A malformed config; the message names the key."""


def default_tiles(head_dim, features):
    """H100 defaults (BLOCK_M, BLOCK_N, num_warps, num_stages) for a head dim and the problem's features."""
    if head_dim <= 64:
        return {"BLOCK_M": 128, "BLOCK_N": 64, "num_warps": 4, "num_stages": 3}
    if head_dim <= 128:
        if "tanh" in features:
            return {"BLOCK_M": 64, "BLOCK_N": 64, "num_warps": 4, "num_stages": 3}
        return {"BLOCK_M": 128, "BLOCK_N": 64, "num_warps": 8, "num_stages": 3}
    return {"BLOCK_M": 64, "BLOCK_N": 32, "num_warps": 4, "num_stages": 2}


def default_switches(features):
    """Switch defaults from the problem's features (mask kind, tanh, tensor-indexed masks)."""
    return {
        "qscale": False,
        "skip_empty": "irregular_mask" in features,
        "fast_tanh": True,
        "tanh_bf16x2": False,
        "static_max": True,
        "reverse_m": "mask" in features,
        "mask_split": True,
    }


def resolve(raw, features):
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
    tiles = {}
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
