"""LKDN: Large Kernel Distillation Network (Xie et al., CVPRW 2023, NTIRE 2023 ESR).

Written for esr-bench from the paper and the layout of the official checkpoints (stella-von/LKDN
``basicsr/archs/lkdn_arch.py`` / ``lkdn_blocks.py``, ``conv='BSConvU'``, ``pixelshuffledirect``):
parameter names, operator kinds and order follow the official model, so its checkpoints load with
``strict=True``, its outputs are reproduced to float precision and fvcore/thop/hook counters see the
same operators (the per-pixel LayerNorm is an ``nn.LayerNorm`` module: fvcore counts ``layer_norm``).

Structure: input repeated 4x along channels -> BSConv -> 8 x LKDB -> concat -> 1x1 conv -> GELU ->
BSConv -> long skip -> 3x3 conv + PixelShuffle. No mean shift; input range 0-1.

LKDB = three distill/refine steps (1x1 distillation, BSConv refinement, no inner residual) -> BSConv
-> concat -> 1x1 to ``num_atten`` -> large-kernel attention (1x1, depth-wise 5x5, depth-wise 5x5
dilation 3, multiplied with its input) -> 1x1 -> LayerNorm over channels -> residual.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import BSConvU, blocks_and_fusion, pixelshuffle_upsampler
from .registry import Checkpoint, ModelSpec, register

__all__ = ["LKDN", "LKDB", "LargeKernelAttention"]


class LargeKernelAttention(nn.Module):
    """Decomposed large-kernel attention: ``x * dwd5x5_dil3(dw5x5(pw(x)))`` (receptive field 17)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pointwise = nn.Conv2d(channels, channels, 1)
        self.depthwise = nn.Conv2d(channels, channels, 5, padding=2, groups=channels)
        self.depthwise_dilated = nn.Conv2d(channels, channels, 5, stride=1, padding=6, groups=channels, dilation=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.depthwise_dilated(self.depthwise(self.pointwise(x)))


class LKDB(nn.Module):
    """Large kernel distillation block."""

    def __init__(self, channels: int, atten_channels: int | None = None) -> None:
        super().__init__()
        dc = channels // 2
        atten_channels = atten_channels or channels
        self.c1_d = nn.Conv2d(channels, dc, 1)
        self.c1_r = BSConvU(channels, channels, 3, padding=1)
        self.c2_d = nn.Conv2d(channels, dc, 1)
        self.c2_r = BSConvU(channels, channels, 3, padding=1)
        self.c3_d = nn.Conv2d(channels, dc, 1)
        self.c3_r = BSConvU(channels, channels, 3, padding=1)
        self.c4 = BSConvU(channels, dc, 3, padding=1)
        self.act = nn.GELU()
        self.c5 = nn.Conv2d(dc * 4, atten_channels, 1)
        self.atten = LargeKernelAttention(atten_channels)
        self.c6 = nn.Conv2d(atten_channels, channels, 1)
        self.pixel_norm = nn.LayerNorm(channels)  # over channels, applied channels-last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.act(self.c1_d(x))
        r1 = self.act(self.c1_r(x))
        d2 = self.act(self.c2_d(r1))
        r2 = self.act(self.c2_r(r1))
        d3 = self.act(self.c3_d(r2))
        r3 = self.act(self.c3_r(r2))
        r4 = self.act(self.c4(r3))
        out = self.c6(self.atten(self.c5(torch.cat([d1, d2, d3, r4], dim=1))))
        out = self.pixel_norm(out.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()
        return out + x


class LKDN(nn.Module):
    """LKDN (num_feat 56, num_atten 56, 8 LKDBs, BSConvU, pixel-shuffle-direct); input range 0-1."""

    def __init__(self, scale: int = 4, num_feat: int = 56, num_atten: int = 56, num_block: int = 8,
                 num_in_ch: int = 3, num_out_ch: int = 3, num_in: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.num_block = num_block
        self.num_in = num_in
        self.fea_conv = BSConvU(num_in_ch * num_in, num_feat, 3, padding=1)
        for n in range(1, num_block + 1):
            self.add_module(f"B{n}", LKDB(num_feat, num_atten))
        self.c1 = nn.Conv2d(num_feat * num_block, num_feat, 1)
        self.GELU = nn.GELU()
        self.c2 = BSConvU(num_feat, num_feat, 3, padding=1)
        self.upsampler = pixelshuffle_upsampler(num_feat, num_out_ch, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(torch.cat([x] * self.num_in, dim=1))
        fused = blocks_and_fusion(self, shallow) + shallow
        return self.upsampler(fused)


def _build(scale: int, **kwargs) -> LKDN:
    return LKDN(scale=scale, **kwargs)


_REPO = "stella-von/LKDN"
_COMMIT = "54df78a491142c2503d9738192b767ceced4d1a1"


def _ckpt(scale: int, sha256: str, size: int) -> Checkpoint:
    return Checkpoint(f"LKDN_x{scale}.pth", sha256, _REPO, _COMMIT,
                      f"experiments/pretrained_models/LKDN/LKDN_x{scale}.pth", "params_ema", bytes=size)


LKDN_SPEC = register(
    ModelSpec(
        name="lkdn",
        family="LKDN",
        display_name="LKDN",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"num_feat": 56, "num_atten": 56, "num_block": 8},
        checkpoints={
            2: _ckpt(2, "02b429e795ad0863fdf21c6924c79344e30a39d637c44442d13124193b012e6b", 2579929),
            3: _ckpt(3, "52835d49d402683ea2085c13e4afc3aca49f6b806ea29d6ed29b2238cd7874c5", 2640473),
            4: _ckpt(4, "f534422583c99dad994fd7df897f6f872637218430cfedf6c2d2a072ea86dbd7", 2725465),
        },
        data_range=1.0,
        paper="CVPRW23",
        published_name="LKDN",
        notes="56 channels, num_atten 56, 8 LKDBs, BSConvU (zero padding), pixel-shuffle-direct upsampler",
    )
)
