"""ALiBi: a linear distance penalty with per-head slope 2^(-8(h+1)/H), computed inside the score_mod."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {},
}


def generate_alibi(H):
    def alibi(score, b, h, q_idx, kv_idx):
        slope = torch.exp2(-8.0 * (h + 1) / H)
        return score + slope * (kv_idx - q_idx)

    return {"score_mod": alibi, "mask_mod": None, "tensors": {}}
