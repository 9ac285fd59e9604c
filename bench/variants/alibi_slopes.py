"""Causal ALiBi with the per-head slopes held in a captured float32 tensor."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {},
}


def generate_alibi_slopes(H, device):
    slopes = torch.pow(2.0, -8.0 * torch.arange(1, H + 1, dtype=torch.float32) / H).to(device)

    def alibi(score, b, h, q_idx, kv_idx):
        return score + slopes[h] * (kv_idx - q_idx)

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    return {"score_mod": alibi, "mask_mod": causal, "tensors": {"slopes": slopes}}
