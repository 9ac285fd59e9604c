"""Video Sparse Attention, fine pass from top-k tile indices: a key is kept when its tile is in the query tile's list."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"tile": 64, "top_k": 8, "seed": 0},
    "correctness": [{"B": 1, "H": 2, "S": 512, "D": 32}, {"B": 2, "H": 3, "S": 1024, "D": 64}],
}


def generate_vsa_topk(B, H, S, S_kv, device, tile=64, top_k=8, seed=0):
    if S % tile or S_kv % tile:
        raise ValueError(f"vsa_topk: S={S} and S_kv={S_kv} must be whole tiles of {tile} tokens")
    q_tiles, kv_tiles = S // tile, S_kv // tile
    k = min(top_k, kv_tiles)
    gen = torch.Generator().manual_seed(seed)
    # stands in for VSA's coarse top-k selection: k distinct random key tiles per query tile, sorted
    topk_tiles = torch.rand(B, H, q_tiles, kv_tiles, generator=gen).argsort(dim=-1)[..., :k].sort(dim=-1).values
    topk_tiles = topk_tiles.to(device=device, dtype=torch.int32)

    def vsa_mask(b, h, q_idx, kv_idx):
        chosen = topk_tiles[b, h, q_idx // tile]
        return (chosen == (kv_idx // tile).unsqueeze(-1)).any(dim=-1)

    return {"score_mod": None, "mask_mod": vsa_mask, "tensors": {"topk_tiles": topk_tiles}}
