"""Sliding Tile Attention, 2-D with text: image tiles see a window of whole tiles; image and text tokens see all text."""

KFORGE = {
    # a 60x64 image in 4x8 tiles, then 256 text tokens: 4096 tokens in both shapes
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 4096, "D": 64}],
    "params": {"canvas_h": 60, "canvas_w": 64, "tile_h": 4, "tile_w": 8, "kernel_h": 12, "kernel_w": 24, "text_len": 256},
}


def generate_sta_2d(canvas_h=60, canvas_w=64, tile_h=4, tile_w=8, kernel_h=12, kernel_w=24, text_len=256):
    if canvas_h % tile_h or canvas_w % tile_w or kernel_h % tile_h or kernel_w % tile_w:
        raise ValueError("sta_2d: the canvas and the kernel must be whole numbers of tiles")
    image_len = canvas_h * canvas_w  # the image tokens come first, tile by tile, then the text
    tiles_h, tiles_w = canvas_h // tile_h, canvas_w // tile_w
    k_h, k_w = kernel_h // tile_h, kernel_w // tile_w  # the window, in tiles
    tile_size = tile_h * tile_w
    # a window of k tiles reaches k // 2 tiles before its centre and (k - 1) // 2 after it
    before_h, after_h = k_h // 2, (k_h - 1) // 2
    before_w, after_w = k_w // 2, (k_w - 1) // 2

    def sta_mask(b, h, q_idx, kv_idx):
        q_tile, kv_tile = q_idx // tile_size, kv_idx // tile_size
        q_th, q_tw = q_tile // tiles_w, q_tile % tiles_w
        kv_th, kv_tw = kv_tile // tiles_w, kv_tile % tiles_w
        centre_h = q_th.clamp(before_h, tiles_h - 1 - after_h)
        centre_w = q_tw.clamp(before_w, tiles_w - 1 - after_w)
        in_window = (
            (kv_th >= centre_h - before_h) & (kv_th <= centre_h + after_h)
            & (kv_tw >= centre_w - before_w) & (kv_tw <= centre_w + after_w)
        )
        q_image, kv_image = q_idx < image_len, kv_idx < image_len
        kv_text = ~kv_image & (kv_idx < image_len + text_len)
        return (q_image & kv_image & in_window) | (q_image & kv_text) | (~q_image & (kv_idx < image_len + text_len))

    return {"score_mod": None, "mask_mod": sta_mask, "tensors": {}}
