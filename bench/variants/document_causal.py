"""Packed documents: causal attention inside each document, positions counted from the document's start."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {"num_docs": 12, "seed": 0},
}


def random_offsets(total, num_docs, seed):
    """Document start offsets [num_docs + 1] (first 0, last `total`), every document at least one token."""
    gen = torch.Generator().manual_seed(seed)
    cuts = torch.randperm(total - 1, generator=gen)[: num_docs - 1] + 1
    return torch.cat([torch.zeros(1, dtype=torch.long), cuts.sort().values, torch.tensor([total])])


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def within_documents(inner, document_id, offsets):
    """`inner` applied to in-document positions, and only between tokens of the same document."""

    def doc_mask(b, h, q_idx, kv_idx):
        q_doc = document_id[q_idx]
        kv_doc = document_id[kv_idx]
        q_local = q_idx - offsets[q_doc]
        kv_local = kv_idx - offsets[kv_doc]
        return (q_doc == kv_doc) & inner(b, h, q_local, kv_local)

    return doc_mask


def generate_document_causal(S, device, num_docs=12, seed=0):
    bounds = random_offsets(S, min(num_docs, S), seed)
    document_id = torch.repeat_interleave(torch.arange(len(bounds) - 1), bounds[1:] - bounds[:-1])
    document_id = document_id.to(device=device, dtype=torch.int32)
    offsets = bounds.to(device=device, dtype=torch.int32)
    return {
        "score_mod": None,
        "mask_mod": within_documents(causal, document_id, offsets),
        "tensors": {"document_id": document_id, "offsets": offsets},
    }
