"""Shared prompt prefix: each group packs a prompt and several responses; a response sees its prompt in full and itself causally."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"groups": 4, "responses": 4, "seed": 0},
}


def layout(S, groups, responses, seed):
    """Document lengths and, per document, the index of its prompt document (a prompt maps to itself).
    A short sequence gets fewer groups and responses: every document has at least one token."""
    gen = torch.Generator().manual_seed(seed)
    groups = max(1, min(groups, S // (2 * (responses + 1))))
    responses = max(0, min(responses, S // groups - 1))
    lengths, prompt_of = [], []
    for g in range(groups):
        size = S // groups + (S % groups if g == groups - 1 else 0)
        prompt = int(torch.randint(max(1, size // 8), max(1, size // 2) + 1, (1,), generator=gen))
        prompt = min(prompt, size - responses)  # leaves a token for each response
        rest = size - prompt
        cuts = (torch.randperm(max(0, rest - 1), generator=gen)[: responses - 1] + 1).sort().values.tolist()
        pieces = [b - a for a, b in zip([0] + cuts, cuts + [rest])] if responses else []
        first = len(lengths)
        lengths.append(prompt)
        prompt_of.append(first)
        lengths.extend(pieces)
        prompt_of.extend([first] * len(pieces))
    return lengths, prompt_of


def generate_shared_prefix(S, device, groups=4, responses=4, seed=0):
    lengths, prompt_of = layout(S, groups, responses, seed)
    lens = torch.tensor(lengths)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lens.cumsum(0)]).to(device=device, dtype=torch.int32)
    document_id = torch.repeat_interleave(torch.arange(len(lengths)), lens).to(device=device, dtype=torch.int32)
    prefix_document_id = torch.tensor(prompt_of, dtype=torch.int32, device=device)

    def shared_prefix(b, h, q_idx, kv_idx):
        doc = document_id[q_idx]
        prompt = prefix_document_id[doc]
        own_causal = (kv_idx >= offsets[doc]) & (kv_idx <= q_idx)
        sees_prompt = (doc != prompt) & (kv_idx >= offsets[prompt]) & (kv_idx < offsets[prompt + 1])
        return own_causal | sees_prompt

    return {
        "score_mod": None,
        "mask_mod": shared_prefix,
        "tensors": {"document_id": document_id, "offsets": offsets, "prefix_document_id": prefix_document_id},
    }
