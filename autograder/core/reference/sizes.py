"""Sizes of conv and pool outputs: arithmetic only, no torch (the checks draw visible cases with it,
and ``check()`` in Jupyter must not load torch to draw them)."""

from __future__ import annotations


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one spatial axis: ``(size + 2*padding - kernel) // stride + 1``.

    Raises ValueError if the kernel does not fit in the padded input.
    """
    if stride < 1 or padding < 0:
        raise ValueError(
            f"need stride >= 1 and padding >= 0, got {stride=}, {padding=}."
        )
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel {kernel} does not fit in size {size} with padding {padding}."
        )
    return (size - kernel + 2 * padding) // stride + 1
