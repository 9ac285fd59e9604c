"""Tanh soft-capping of the scores (Gemma 2, Grok-1): cap * tanh(score / cap)."""
import torch

KFORGE = {
    "shapes": [{"B": 4, "H": 16, "S": 4096, "D": 128}, {"B": 2, "H": 32, "S": 8192, "D": 64}],
    "params": {},
}

SOFT_CAP = 30.0


def score_mod(score, b, h, q_idx, kv_idx):
    return SOFT_CAP * torch.tanh(score / SOFT_CAP)
