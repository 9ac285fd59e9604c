"""Multi-head latent attention's decoupled RoPE term: score + scale * <q_rope[b, h, q], k_rope[b, kv]>."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"rope_dim": 64, "scale": 0.125, "seed": 0},
}


def generate_mla_rope(B, H, S, S_kv, device, rope_dim=64, scale=0.125, seed=0):
    gen = torch.Generator().manual_seed(seed)
    # per-head query RoPE parts; one RoPE key shared by all heads (MLA caches a single one)
    q_rope = torch.randn(B, H, S, rope_dim, generator=gen).to(device)
    k_rope = torch.randn(B, S_kv, rope_dim, generator=gen).to(device)

    def mla_rope(score, b, h, q_idx, kv_idx):
        return score + scale * torch.dot(q_rope[b, h, q_idx], k_rope[b, kv_idx])

    return {"score_mod": mla_rope, "mask_mod": None, "tensors": {"q_rope": q_rope, "k_rope": k_rope}}
