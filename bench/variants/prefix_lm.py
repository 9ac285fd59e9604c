"""Prefix LM: the first `prefix` keys are visible to every query, the rest causally."""
from torch.nn.attention.flex_attention import or_masks

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"prefix": 1024},
}


def generate_prefix_lm(prefix=1024):
    def in_prefix(b, h, q_idx, kv_idx):
        return kv_idx < prefix

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    return {"score_mod": None, "mask_mod": or_masks(in_prefix, causal), "tensors": {}}
