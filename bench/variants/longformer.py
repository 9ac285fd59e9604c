"""Longformer: a symmetric sliding window plus global tokens that see, and are seen by, every token."""
import torch
from torch.nn.attention.flex_attention import or_masks

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"window": 256, "num_global": 16, "seed": 0},
}


def generate_longformer(S, device, window=256, num_global=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    is_global = torch.zeros(S, dtype=torch.bool)
    is_global[0] = True  # the CLS token
    is_global[torch.randperm(S, generator=gen)[: max(0, num_global - 1)]] = True
    is_global = is_global.to(device)

    def local(b, h, q_idx, kv_idx):
        return (q_idx - kv_idx).abs() <= window

    def global_tokens(b, h, q_idx, kv_idx):
        return is_global[q_idx] | is_global[kv_idx]

    return {"score_mod": None, "mask_mod": or_masks(local, global_tokens), "tensors": {"is_global": is_global}}
