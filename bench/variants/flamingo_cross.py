"""Flamingo vision cross-attention: text tokens attend only to the image that precedes them."""
import torch

KFORGE = {
    "shapes": [
        {"B": 4, "H": 16, "S": 4096, "Skv": 2048, "D": 128},
        {"B": 2, "H": 32, "S": 8192, "Skv": 4096, "D": 64},
    ],
    "params": {"image_tokens": 256, "seed": 0},
    "correctness": [{"B": 1, "H": 2, "S": 77, "Skv": 256, "D": 32}, {"B": 2, "H": 2, "S": 300, "Skv": 512, "D": 64}],
}


def generate_flamingo_cross(S, S_kv, device, image_tokens=256, seed=0):
    if S_kv % image_tokens:
        raise ValueError(f"flamingo_cross: S_kv={S_kv} must be a whole number of images of {image_tokens} tokens")
    images = S_kv // image_tokens
    if images > S:
        raise ValueError(f"flamingo_cross: {images} images need at least as many text tokens (S={S})")
    gen = torch.Generator().manual_seed(seed)
    # image i appears before text position starts[i]; text up to the next image attends to it alone
    starts = torch.cat([torch.zeros(1, dtype=torch.long), (torch.randperm(S - 1, generator=gen)[: images - 1] + 1).sort().values])
    ends = torch.cat([starts[1:], torch.tensor([S])])
    intervals = torch.stack([starts, ends], dim=1).to(device=device, dtype=torch.int32)
    image_of_token = torch.arange(images).repeat_interleave(image_tokens).to(device=device, dtype=torch.int32)

    def text_to_image(b, h, q_idx, kv_idx):
        interval = intervals[image_of_token[kv_idx]]  # [start, end) of the text that sees this image
        return (q_idx >= interval[0]) & (q_idx < interval[1])

    return {"score_mod": None, "mask_mod": text_to_image, "tensors": {"image_of_token": image_of_token, "intervals": intervals}}
