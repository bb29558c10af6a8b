"""Building blocks shared by several families (BSConv, pixel-shuffle upsamplers, mean shift).

Module and parameter names follow the official implementations so that official checkpoints load
with ``strict=True``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


def channel_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-channel spatial mean, summed over W then H as the official IMDN-family code does."""
    return x.sum(3, keepdim=True).sum(2, keepdim=True) / (x.size(2) * x.size(3))


def channel_std(x: torch.Tensor) -> torch.Tensor:
    """Per-channel population standard deviation, in the official operator order."""
    centred = x - channel_mean(x)
    return (centred.pow(2).sum(3, keepdim=True).sum(2, keepdim=True) / (x.size(2) * x.size(3))).pow(0.5)


class ContrastChannelAttention(nn.Module):
    """CCA layer (IMDN): ``x * sigmoid(W2 relu(W1 (std(x) + avgpool(x))))``; keys ``conv_du.{0,2}``.

    Used by IMDN, BSRN, MDRN and AGDN's RCCA. The average pool is an ``nn.AdaptiveAvgPool2d`` module and
    the ReLU an ``nn.ReLU`` module, as in the official code: fvcore counts ``adaptive_avg_pool2d``, thop
    counts the pool, and the NTIRE 2022/23 hook counter counts the ReLU's outputs.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(channel_std(x) + self.avg_pool(x))


def feature_distillation(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """RFDN-style residual feature distillation, shared by RFDN, BSRN, MDRN and AGDN blocks.

    Three steps each split off a distilled 1x1 branch (``cK_d``) and refine the rest with a residual
    3x3 (``cK_r``); ``c4`` ends the chain; the four distilled maps are concatenated and fused by ``c5``
    (1x1). ``block.act`` is the family's activation. Returns the ``c5`` output (attention follows).
    """
    act = block.act
    d1 = act(block.c1_d(x))
    r1 = act(block.c1_r(x) + x)
    d2 = act(block.c2_d(r1))
    r2 = act(block.c2_r(r1) + r1)
    d3 = act(block.c3_d(r2))
    r3 = act(block.c3_r(r2) + r2)
    r4 = act(block.c4(r3))
    return block.c5(torch.cat([d1, d2, d3, r4], dim=1))


def chain_blocks(net: nn.Module, prefix: str, count: int, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``net.<prefix>1 .. net.<prefix><count>`` in sequence; return every block's output."""
    feats = []
    for n in range(1, count + 1):
        x = getattr(net, f"{prefix}{n}")(x)
        feats.append(x)
    return feats


def blocks_and_fusion(net: nn.Module, shallow: torch.Tensor) -> torch.Tensor:
    """The BSRN-style trunk shared by BSRN, LKDN, MDRN and AGDN (without the long skip).

    Runs ``net.B1 .. net.B<num_block>`` in sequence, concatenates every block's output and fuses them
    with ``net.c2(net.GELU(net.c1(...)))`` (1x1 conv, GELU, then a 3x3 (BS)conv).
    """
    feats = chain_blocks(net, "B", net.num_block, shallow)
    return net.c2(net.GELU(net.c1(torch.cat(feats, dim=1))))


def local_variance(x: torch.Tensor, ksize: int, padding: int, stride: int = 3) -> torch.Tensor:
    """Unbiased variance over ``ksize`` x ``ksize`` windows at ``stride``, after reflection padding.

    The local-variance "view" of AGDN's MVSA and MDRN's MDSA (``unfold`` then ``torch.var``, as the
    official code computes it; no counter sees it: it is neither a conv nor a matmul).
    """
    padded = F.pad(x, [padding] * 4, mode="reflect")
    windows = padded.unfold(2, ksize, stride).unfold(3, ksize, stride)
    return torch.var(windows, dim=(-1, -2), unbiased=True, keepdim=True).squeeze(-1).squeeze(-1)
