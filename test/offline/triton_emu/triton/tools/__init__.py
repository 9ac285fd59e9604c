"""triton.tools for the CPU emulator (tensor descriptors only)."""
