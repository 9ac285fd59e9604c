"""Causal sliding window: a query sees the keys at most WINDOW positions behind it (and itself)."""
from torch.nn.attention.flex_attention import and_masks

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {},
}

WINDOW = 1024


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def recent(b, h, q_idx, kv_idx):
    return q_idx - kv_idx <= WINDOW


mask_mod = and_masks(causal, recent)
