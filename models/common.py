"""Building blocks shared by several families (BSConv, pixel-shuffle upsamplers, mean shift).

Module and parameter names follow the official implementations so that official checkpoints load
with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class BSConvU(nn.Module):
    """Blueprint separable convolution, unconstrained (Haase & Amthor, CVPR 2020).

    A bias-free 1x1 point-wise convolution (``pw``) followed by a depth-wise ``kernel_size``
    convolution (``dw``). ``dw_padding_mode`` is ``"reflect"`` in AGDN and ``"zeros"`` in BSRN/LKDN.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 1,
        dilation: int = 1,
        bias: bool = True,
        dw_padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.pw = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.dw = nn.Conv2d(
            out_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=out_channels,
            bias=bias,
            padding_mode=dw_padding_mode,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(self.pw(x))


def pixelshuffle_upsampler(in_channels: int, out_channels: int, scale: int, kernel_size: int = 3) -> nn.Sequential:
    """One conv to ``out_channels * scale**2`` channels, then ``PixelShuffle(scale)`` (keys ``0.*``)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels * scale**2, kernel_size, 1, kernel_size // 2),
        nn.PixelShuffle(scale),
    )
