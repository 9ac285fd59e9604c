"""Video Sparse Attention, fine pass from a tile-level block map: a query tile sees the key tiles its row selects."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"tile": 64, "keep": 0.125, "seed": 0},
}


def generate_vsa_block_map(B, H, S, S_kv, device, tile=64, keep=0.125, seed=0):
    q_tiles, kv_tiles = -(-S // tile), -(-S_kv // tile)  # a last, shorter tile where the length is not a multiple
    top_k = max(1, round(keep * kv_tiles))
    gen = torch.Generator().manual_seed(seed)
    # stands in for VSA's coarse top-k: a random choice per (batch, head, query tile), its own tile always kept
    picks = torch.rand(B, H, q_tiles, kv_tiles, generator=gen).argsort(dim=-1)[..., :top_k]
    block_map = torch.zeros(B, H, q_tiles, kv_tiles, dtype=torch.bool)
    block_map.scatter_(-1, picks, True)
    block_map[:, :, torch.arange(q_tiles), torch.arange(q_tiles).clamp(max=kv_tiles - 1)] = True
    block_map = block_map.to(device)

    def vsa_mask(b, h, q_idx, kv_idx):
        return block_map[b, h, q_idx // tile, kv_idx // tile]

    return {"score_mod": None, "mask_mod": vsa_mask, "tensors": {"block_map": block_map}}
