"""JetSpec tree-causal mask: drafted tree nodes see the whole prefix and their own root-to-node path."""
import torch

KFORGE = {
    "shapes": [
        {"B": 4, "H": 16, "S": 1024, "Skv": 5120, "D": 128},
        {"B": 2, "H": 32, "S": 2048, "Skv": 10240, "D": 64},
    ],
    "params": {"fan_in": 8, "seed": 0},
    "correctness": [{"B": 1, "H": 2, "S": 37, "Skv": 101, "D": 32}, {"B": 2, "H": 2, "S": 200, "Skv": 456, "D": 64}],
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
    prefix = S_kv - S  # keys: the verified prefix, then the S tree nodes (the queries)
    if prefix < 0:
        raise ValueError(f"jetspec_tree: S_kv={S_kv} must hold the prefix and the S={S} tree nodes")
    ancestor = random_tree_ancestors(S, fan_in, seed).to(device)

    def tree_causal(b, h, q_idx, kv_idx):
        node = (kv_idx - prefix).clamp(0, S - 1)
        in_tree = (kv_idx >= prefix) & (kv_idx < prefix + S)
        return (kv_idx < prefix) | (in_tree & ancestor[q_idx, node])

    return {"score_mod": None, "mask_mod": tree_causal, "tensors": {"ancestor": ancestor}}
