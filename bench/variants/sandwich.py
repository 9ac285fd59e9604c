"""Sandwich positional bias, causal: sum_i cos((q - kv) w_i) from a 1-D distance table, scaled per head."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"max_seq_len": 8192, "d_bar": 128},
}


def generate_sandwich(H, device, max_seq_len=8192, d_bar=128):
    freqs = 10000.0 ** (-2.0 * torch.arange(d_bar // 2, dtype=torch.float32) / d_bar)
    # entry j holds the bias of distance q - kv = j - (max_seq_len - 1); padded to a multiple of 8 entries
    entries = (2 * max_seq_len - 1 + 7) // 8 * 8
    distance = torch.arange(entries, dtype=torch.float32) - (max_seq_len - 1)
    rel_bias = torch.cos(distance.abs()[:, None] * freqs[None, :]).sum(dim=1).to(device)
    head_scale = (H / (8.0 * torch.arange(1, H + 1, dtype=torch.float32))).to(device)

    def sandwich(score, b, h, q_idx, kv_idx):
        return score + rel_bias[q_idx - kv_idx + (max_seq_len - 1)] * head_scale[h]

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    return {"score_mod": sandwich, "mask_mod": causal, "tensors": {"rel_bias": rel_bias, "head_scale": head_scale}}
