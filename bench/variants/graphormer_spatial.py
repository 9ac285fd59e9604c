"""Graphormer spatial encoding: score + a per-head bias looked up by the shortest-path distance between two nodes."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"max_distance": 8, "widths": [64, 32], "seed": 0},
}


def lattice_distances(nodes, width, device):
    """Shortest-path distances [nodes, nodes] on a grid graph `width` nodes wide (edges join 4-neighbours; the
    last row may be short)."""
    idx = torch.arange(nodes, device=device)
    row, col = idx // width, idx % width
    return (row[:, None] - row[None, :]).abs() + (col[:, None] - col[None, :]).abs()


def generate_graphormer_spatial(B, H, S, device, max_distance=8, widths=(64, 32), seed=0):
    # graph b of the batch is a grid of width widths[b % len(widths)]; far pairs share the last bucket
    distances = torch.stack([
        lattice_distances(S, widths[b % len(widths)], device).clamp(max=max_distance + 1) for b in range(B)
    ]).to(torch.int32)
    gen = torch.Generator().manual_seed(seed)
    spatial_bias = torch.randn(H, max_distance + 2, generator=gen).to(device)  # stands in for trained weights

    def spatial(score, b, h, q_idx, kv_idx):
        return score + spatial_bias[h, distances[b, q_idx, kv_idx]]

    return {"score_mod": spatial, "mask_mod": None, "tensors": {"spatial_bias": spatial_bias, "distances": distances}}
