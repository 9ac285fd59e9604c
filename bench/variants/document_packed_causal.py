"""Packed documents, causal: a query sees the keys from its document's start up to itself."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"num_docs": 12, "seed": 1},
}


def generate_document_packed_causal(S, device, num_docs=12, seed=1):
    gen = torch.Generator().manual_seed(seed)
    n = min(num_docs, S)
    # random positive lengths summing to S: n - 1 distinct cut points in 1..S-1
    cuts = (torch.randperm(S - 1, generator=gen)[: n - 1] + 1).sort().values
    starts = torch.cat([torch.zeros(1, dtype=torch.long), cuts, torch.tensor([S])])
    lengths = starts[1:] - starts[:-1]
    document_id = torch.repeat_interleave(torch.arange(n), lengths).to(device=device, dtype=torch.int32)
    offsets = starts.to(device=device, dtype=torch.int32)

    def packed_causal(b, h, q_idx, kv_idx):
        doc_start = offsets[document_id[q_idx]]
        return (kv_idx >= doc_start) & (kv_idx <= q_idx)

    return {"score_mod": None, "mask_mod": packed_causal, "tensors": {"document_id": document_id, "offsets": offsets}}
