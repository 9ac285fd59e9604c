"""Causal attention: a query sees itself and every key before it."""

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {},
}


def mask_mod(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx
