"""Host-side TMA tensor descriptors for the CPU emulator: block loads with zero padding past the edges.

As on the GPU, a descriptor is a base tensor plus shape, strides and a block shape; `load([r, c])` inside
a kernel returns the block at those coordinates, reading 0 wherever the block leaves the tensor.
"""
import torch


class TensorDescriptor:
    """triton.tools.tensor_descriptor.TensorDescriptor (2-D, zero padding), usable inside emulated kernels."""

    def __init__(self, base, shape, strides, block_shape, padding="zero"):
        assert padding == "zero" and len(shape) == 2, "emulator: 2-D, zero padding only"
        assert list(strides) == [shape[1], 1] and base.is_contiguous(), "emulator: contiguous rows only"
        self.base, self.shape, self.strides, self.block_shape = base.reshape(shape), list(shape), list(strides), list(block_shape)

    @staticmethod
    def from_tensor(tensor, block_shape):
        """A descriptor over a contiguous tensor, as the real from_tensor."""
        return TensorDescriptor(tensor, list(tensor.shape), list(tensor.stride()), block_shape)

    def load(self, offsets):
        r, c = (int(o) for o in offsets)
        bm, bn = self.block_shape
        out = torch.zeros((bm, bn), dtype=self.base.dtype)
        rows = self.base[max(r, 0):r + bm, max(c, 0):c + bn]
        out[max(-r, 0):max(-r, 0) + rows.shape[0], max(-c, 0):max(-c, 0) + rows.shape[1]] = rows
        return out
