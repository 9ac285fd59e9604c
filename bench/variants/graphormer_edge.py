"""Graphormer edge encoding: score + the mean, over the first K edges of the shortest path, of a per-head, per-hop edge-type bias."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"width": 64, "max_hops": 3, "edge_types": 4, "seed": 0},
}


def lattice_paths(nodes, width, max_hops, horizontal, vertical):
    """Edge types along one shortest path per pair of a grid graph (columns first, then rows), and path lengths.

    horizontal[r, c] is the type of the edge (r, c)-(r, c+1), vertical[r, c] of (r, c)-(r+1, c).
    Returns ([nodes, nodes, max_hops] types, 0 past the path's end; [nodes, nodes] min(distance, max_hops)).
    """
    idx = torch.arange(nodes, device=horizontal.device)
    row, col = idx // width, idx % width
    d_col = col[None, :] - col[:, None]
    d_row = row[None, :] - row[:, None]
    n_col, n_row = d_col.abs(), d_row.abs()
    types = []
    for hop in range(max_hops):
        # a hop along the source's row while hop < |d_col|, then along the destination's column
        c_from = col[:, None] + d_col.sign() * hop
        h_edge = horizontal[row[:, None].expand(-1, nodes), torch.minimum(c_from, c_from + d_col.sign()).clamp(0, width - 1)]
        r_from = row[:, None] + d_row.sign() * (hop - n_col).clamp(min=0)
        v_edge = vertical[torch.minimum(r_from, r_from + d_row.sign()).clamp(0, vertical.shape[0] - 1), col[None, :].expand(nodes, -1)]
        hop_type = torch.where(hop < n_col, h_edge, torch.where(hop < n_col + n_row, v_edge, torch.zeros_like(v_edge)))
        types.append(hop_type)
    return torch.stack(types, dim=-1), (n_col + n_row).clamp(max=max_hops)


def generate_graphormer_edge(B, H, S, device, width=64, max_hops=3, edge_types=4, seed=0):
    rows = -(-S // width)  # odd sizes: a short last row, its paths taken as if the row were full
    gen = torch.Generator().manual_seed(seed)
    paths, lengths = [], []
    for _ in range(B):  # every graph of the batch: the same grid, its own random edge types
        horizontal = torch.randint(0, edge_types, (rows, width), generator=gen).to(device)
        vertical = torch.randint(0, edge_types, (rows, width), generator=gen).to(device)
        p, n = lattice_paths(S, width, max_hops, horizontal, vertical)
        paths.append(p.to(torch.int32))
        lengths.append(n.to(torch.int32))
    path_lengths = torch.stack(lengths)
    # one [B, S, S] tensor per hop, so every lookup below is indexed by tensors only
    hop_types = [torch.stack([p[..., hop] for p in paths]).contiguous() for hop in range(max_hops)]
    del paths
    # stands in for trained weights: the bias of edge type t at hop n is edge_bias[h, n * edge_types + t]
    edge_bias = torch.randn(H, max_hops * edge_types, generator=gen).to(device)

    def edge_encoding(score, b, h, q_idx, kv_idx):
        length = path_lengths[b, q_idx, kv_idx]
        total = 0.0
        for hop, types in enumerate(hop_types):  # unrolled when traced
            bias = edge_bias[h, types[b, q_idx, kv_idx] + hop * edge_types]
            total = total + torch.where(length > hop, bias, 0.0)
        return score + total / length.clamp(min=1)

    tensors = {"edge_bias": edge_bias, "path_lengths": path_lengths}
    tensors.update({f"path_edge_types_{hop}": t for hop, t in enumerate(hop_types)})
    return {"score_mod": edge_encoding, "mask_mod": None, "tensors": tensors}
