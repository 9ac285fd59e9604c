"""JetSpec tree-causal mask: drafted tree nodes (the queries) see the whole prefix and their own root-to-node path."""
import torch

KFORGE = {
    "shapes": [
        {"B": 4, "H": 16, "S": 1024, "Skv": 5120, "D": 128},
        {"B": 2, "H": 32, "S": 2048, "Skv": 10240, "D": 64},
    ],
    "params": {"fan_in": 8, "seed": 0},
}


def random_tree_ancestors(nodes, fan_in, seed):
    """[nodes, nodes] bool: row i marks node i and its ancestors; node i's parent is one of the fan_in nodes before it."""
    gen = torch.Generator().manual_seed(seed)
    ancestors = torch.eye(nodes, dtype=torch.bool)
    for node in range(1, nodes):
        parent = node - 1 - int(torch.randint(0, min(fan_in, node), (1,), generator=gen))
        ancestors[node] |= ancestors[parent]
    return ancestors


def generate_jetspec_tree(S, S_kv, device, fan_in=8, seed=0):
    if S_kv < S:
        raise ValueError(f"jetspec_tree: the keys (S_kv={S_kv}) are the prefix and then the S={S} tree nodes")
    ancestor = random_tree_ancestors(S, fan_in, seed).to(device)
    # a tensor, not a Python number: one compiled kernel serves every prefix length
    prefix_len = torch.tensor(S_kv - S, device=device)

    def tree_causal(b, h, q_idx, kv_idx):
        node = (kv_idx - prefix_len).clamp(min=0)
        return (kv_idx < prefix_len) | ancestor[q_idx, node]

    return {"score_mod": None, "mask_mod": tree_causal, "tensors": {"ancestor": ancestor, "prefix_len": prefix_len}}
