"""Video Sparse Attention, fine pass from top-k tile indices: a key is kept when its tile is in the query tile's list."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"tile": 64, "top_k": 8, "seed": 0},
}


def generate_vsa_topk(B, H, S, S_kv, device, tile=64, top_k=8, seed=0):
    q_tiles, kv_tiles = -(-S // tile), -(-S_kv // tile)
    gen = torch.Generator().manual_seed(seed)
    # stands in for VSA's coarse top-k selection: top_k random key tiles per query tile, sorted; when there are
    # fewer key tiles than top_k, the list repeats the last one (the same set of tiles)
    order = torch.rand(B, H, q_tiles, kv_tiles, generator=gen).argsort(dim=-1)[..., :top_k].sort(dim=-1).values
    topk_tiles = torch.cat([order, order[..., -1:].expand(B, H, q_tiles, top_k - order.shape[-1])], dim=-1)
    topk_tiles = topk_tiles.to(device=device, dtype=torch.int32)

    def vsa_mask(b, h, q_idx, kv_idx):
        chosen = topk_tiles[b, h, q_idx // tile]
        return (chosen == (kv_idx // tile).unsqueeze(-1)).any(dim=-1)

    return {"score_mod": None, "mask_mod": vsa_mask, "tensors": {"topk_tiles": topk_tiles}}
