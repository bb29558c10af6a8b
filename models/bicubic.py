"""``bicubic``: MATLAB bicubic upscaling as a zero-parameter zoo model (the classic SR baseline row).

The LR image is upscaled with MATLAB ``imresize(lr, s, 'bicubic')`` as applied to uint8 images: cubic
kernel a = -0.5, symmetric padding, one dimension at a time (rows first), rounded to the uint8 grid
after each pass (``quantize=True``, the default; ``quantize=False`` is MATLAB on double images).
Input and output range 0-1 (``data_range`` 1.0). No parameters, hence no checkpoint: evaluation
needs no weights.
"""

from __future__ import annotations

import torch
from torch import nn

from bench.imresize import imresize_torch

from .registry import ModelSpec, register

__all__ = ["BicubicUpsampler"]


class BicubicUpsampler(nn.Module):
    """Upscale ``NxCxHxW`` images in 0-1 by ``scale`` with MATLAB's bicubic ``imresize``."""

    def __init__(self, scale: int, quantize: bool = True) -> None:
        super().__init__()
        self.scale = int(scale)
        self.quantize = bool(quantize)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return imresize_torch(x, float(self.scale), quantize=self.quantize, data_range=1.0)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, quantize={self.quantize}"


def _build(scale: int, **kwargs) -> BicubicUpsampler:
    return BicubicUpsampler(scale, **kwargs)


BICUBIC_SPEC = register(
    ModelSpec(
        name="bicubic",
        family="Bicubic",
        display_name="Bicubic",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"quantize": True},
        checkpoints={},
        data_range=1.0,
        notes="MATLAB imresize bicubic upscaling (uint8 passes); zero parameters, needs no weights",
    )
)
