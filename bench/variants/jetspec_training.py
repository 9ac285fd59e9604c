"""JetSpec draft-head training mask: each sampled block of queries sees the prefix and, causally, its own block."""
import torch

KFORGE = {
    "shapes": [
        {"B": 4, "H": 16, "S": 4096, "Skv": 8192, "D": 128},
        {"B": 2, "H": 32, "S": 8192, "Skv": 12288, "D": 64},
    ],
    "params": {"block": 16},
}


def generate_jetspec_training(S, S_kv, device, block=16):
    if S_kv < S:
        raise ValueError(f"jetspec_training: the keys (S_kv={S_kv}) are the prefix and then the S={S} sampled tokens")
    prefix_len = torch.tensor(S_kv - S, device=device)  # a tensor: one compiled kernel for every prefix length

    def draft_training(b, h, q_idx, kv_idx):
        rel = kv_idx - prefix_len
        same_block = (rel >= 0) & (rel // block == q_idx // block)
        return (kv_idx < prefix_len) | (same_block & (rel % block <= q_idx % block))

    return {"score_mod": None, "mask_mod": draft_training, "tensors": {"prefix_len": prefix_len}}
