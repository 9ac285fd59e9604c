"""Dilated sliding window: keys within `window` positions either side, every `dilation`-th one."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"window": 1024, "dilation": 2},
}


def generate_dilated_sliding_window(window=1024, dilation=2):
    def dilated_window(b, h, q_idx, kv_idx):
        distance = torch.abs(q_idx - kv_idx)
        return (distance <= window) & (distance % dilation == 0)

    return {"score_mod": None, "mask_mod": dilated_window, "tensors": {}}
