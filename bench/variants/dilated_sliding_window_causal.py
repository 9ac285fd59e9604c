"""Causal dilated window: every `dilation`-th key among the `window` keys behind the query."""
from torch.nn.attention.flex_attention import and_masks

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"window": 2048, "dilation": 2},
}


def generate_dilated_sliding_window_causal(window=2048, dilation=2):
    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    def dilated(b, h, q_idx, kv_idx):
        behind = q_idx - kv_idx
        return (behind <= window) & (behind % dilation == 0)

    return {"score_mod": None, "mask_mod": and_masks(causal, dilated), "tensors": {}}
