"""Flamingo vision cross-attention: text tokens attend only to the image that precedes them."""
import torch

KFORGE = {
    "shapes": [
        {"B": 4, "H": 16, "S": 4096, "Skv": 2048, "D": 128},
        {"B": 2, "H": 32, "S": 8192, "Skv": 4096, "D": 64},
    ],
    "params": {"image_tokens": 256, "seed": 0},
}


def generate_flamingo_cross(S, S_kv, device, image_tokens=256, seed=0):
    images = -(-S_kv // image_tokens)  # the keys: the images' tokens, one image after another
    gen = torch.Generator().manual_seed(seed)
    # image i appears before text position starts[i] (the first at 0); the text up to the next image sees it alone
    later = torch.randint(0, S, (images - 1,), generator=gen).sort().values
    starts = torch.cat([torch.zeros(1, dtype=torch.long), later])
    ends = torch.cat([later, torch.tensor([S])])
    intervals = torch.stack([starts, ends], dim=1).to(device=device, dtype=torch.int32)
    image_of_token = (torch.arange(S_kv) // image_tokens).to(device=device, dtype=torch.int32)

    def text_to_image(b, h, q_idx, kv_idx):
        interval = intervals[image_of_token[kv_idx]]  # [start, end) of the text that sees this image
        return (q_idx >= interval[0]) & (q_idx < interval[1])

    return {"score_mod": None, "mask_mod": text_to_image, "tensors": {"image_of_token": image_of_token, "intervals": intervals}}
