"""BSRN: Blueprint Separable Residual Network (Li et al., CVPRW 2022, NTIRE 2022 ESR).

Written for esr-bench from the paper and the layout of the official checkpoints (xiaom233/BSRN
``basicsr/archs/BSRN_arch.py``, BSConvU variant, ``pixelshuffledirect`` upsampler): parameter names,
operator kinds and operator order follow the official model, so its checkpoints load with
``strict=True``, its outputs are reproduced to float precision and every complexity counter (fvcore,
thop, the NTIRE hook counter) sees the same operators.

Structure: input repeated 4x along channels -> BSConv -> 8 x ESDB -> concat -> 1x1 conv -> GELU ->
BSConv -> long skip -> 3x3 conv + PixelShuffle. No mean shift; input range 0-1.

ESDB = three distill/refine steps (1x1 distillation, BSConv refinement with a residual) -> BSConv ->
concat -> 1x1 fuse -> ESA (enhanced spatial attention) -> CCA (contrast channel attention) ->
residual. All BSConvs pad with zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .common import BSConvU, ContrastChannelAttention, blocks_and_fusion, feature_distillation
from .registry import Checkpoint, ModelSpec, register

__all__ = ["BSRN", "ESDB", "ESA", "OneStepUpsampler"]


class OneStepUpsampler(nn.Module):
    """3x3 conv to ``out_ch * scale**2`` + PixelShuffle, keys ``upsampleOneStep.0.*`` (BSRN, MDRN)."""

    def __init__(self, num_feat: int, out_ch: int, scale: int) -> None:
        super().__init__()
        self.upsampleOneStep = nn.Sequential(
            nn.Conv2d(num_feat, out_ch * scale**2, 3, 1, 1),
            nn.PixelShuffle(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsampleOneStep(x)


class ESA(nn.Module):
    """Enhanced spatial attention with a stride-2 unpadded BSConv and a 7/3 max-pool."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.maxPooling = nn.MaxPool2d(kernel_size=7, stride=3)
        self.conv_max = BSConvU(f, f, 3, padding=1)
        self.conv2 = BSConvU(f, f, 3, stride=2, padding=0)
        self.conv3 = BSConvU(f, f, 3, padding=1)
        self.conv3_ = BSConvU(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)
        self.sigmoid = nn.Sigmoid()
        self.GELU = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.conv1(x)
        pooled = self.maxPooling(self.conv2(squeezed))
        low = self.conv3_(self.GELU(self.conv3(self.GELU(self.conv_max(pooled)))))
        up = F.interpolate(low, (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * self.sigmoid(self.conv4(up + self.conv_f(squeezed)))


class ESDB(nn.Module):
    """Efficient separable distillation block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        dc = channels // 2
        self.c1_d = nn.Conv2d(channels, dc, 1)
        self.c1_r = BSConvU(channels, channels, 3, padding=1)
        self.c2_d = nn.Conv2d(channels, dc, 1)
        self.c2_r = BSConvU(channels, channels, 3, padding=1)
        self.c3_d = nn.Conv2d(channels, dc, 1)
        self.c3_r = BSConvU(channels, channels, 3, padding=1)
        self.c4 = BSConvU(channels, dc, 3, padding=1)
        self.act = nn.GELU()
        self.c5 = nn.Conv2d(dc * 4, channels, 1)
        self.esa = ESA(channels)
        self.cca = ContrastChannelAttention(channels, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = feature_distillation(self, x)
        return self.cca(self.esa(out)) + x


class BSRN(nn.Module):
    """BSRN (num_feat 64, 8 ESDBs, BSConvU, pixel-shuffle-direct upsampler); input range 0-1."""

    def __init__(self, scale: int = 4, num_feat: int = 64, num_block: int = 8, num_in_ch: int = 3,
                 num_out_ch: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.num_block = num_block
        self.fea_conv = BSConvU(num_in_ch * 4, num_feat, 3, padding=1)
        for n in range(1, num_block + 1):
            self.add_module(f"B{n}", ESDB(num_feat))
        self.c1 = nn.Conv2d(num_feat * num_block, num_feat, 1)
        self.GELU = nn.GELU()
        self.c2 = BSConvU(num_feat, num_feat, 3, padding=1)
        self.upsampler = OneStepUpsampler(num_feat, num_out_ch, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.fea_conv(torch.cat([x, x, x, x], dim=1))
        fused = blocks_and_fusion(self, shallow) + shallow
        return self.upsampler(fused)


def _build(scale: int, **kwargs) -> BSRN:
    return BSRN(scale=scale, **kwargs)


_REPO = "xiaom233/BSRN"
_COMMIT = "2d63d5239c9fa9810b9c1aea93e98d42ece09efc"


def _ckpt(scale: int, sha256: str, size: int) -> Checkpoint:
    return Checkpoint(f"BSRN_x{scale}.pth", sha256, _REPO, _COMMIT,
                      f"experiments/pretrained_models/net_g_BSRN_x{scale}.pth", "params", bytes=size)


BSRN_SPEC = register(
    ModelSpec(
        name="bsrn",
        family="BSRN",
        display_name="BSRN",
        builder=_build,
        scales=(2, 3, 4),
        kwargs={"num_feat": 64, "num_block": 8},
        checkpoints={
            2: _ckpt(2, "09bd1f85e017c7902e65a9c9770ee592efe3d013f6b5cf1fe7de8cabac4ba37d", 1441677),
            3: _ckpt(3, "6eb73a300aaec5029bc0de7f5ae85c02b8dcd8fdaf438c77f90272939fecca7e", 1476301),
            4: _ckpt(4, "47518e0f549f5696da0c84ca2d65bf50d789c7ac20e621909f5fd6c8c8d70bcb", 1524813),
        },
        data_range=1.0,
        paper="CVPRW22",
        published_name="BSRN",
        notes="64 channels, 8 ESDBs, BSConvU (zero padding), pixel-shuffle-direct upsampler; NTIRE 2022 ESR",
    )
)
