"""Learned relative-position bias: a per-head table indexed by the query-key offset, clipped at +-max_distance."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"max_distance": 128, "seed": 0},
}


def generate_rel_bias_table(H, device, max_distance=128, seed=0):
    gen = torch.Generator().manual_seed(seed)
    # stands in for trained weights: [H, 2 * max_distance + 1], offset kv - q lands at column offset + max_distance
    table = (0.5 * torch.randn(H, 2 * max_distance + 1, generator=gen)).to(device)

    def rel_bias(score, b, h, q_idx, kv_idx):
        offset = (kv_idx - q_idx).clamp(-max_distance, max_distance)
        return score + table[h, offset + max_distance]

    return {"score_mod": rel_bias, "mask_mod": None, "tensors": {"table": table}}
