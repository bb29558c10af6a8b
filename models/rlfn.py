"""RLFN: Residual Local Feature Network (Kong et al., CVPRW 2022) and its pruned NTIRE 2022 entry.

Written for esr-bench from the layout of the official checkpoints (bytedance/RLFN ``model/block.py``,
``model/rlfn.py``, ``model/rlfn_ntire.py``; the NTIRE 2024 baseline copy in Amazingren/NTIRE2024_ESR
``models/team00_RLFN.py`` is the same code): parameter names and operator order follow the official
model so the checkpoints load with ``strict=True`` and outputs match to float precision.

Structure: 3x3 conv -> N RLFBs -> 3x3 conv -> long skip -> conv + PixelShuffle. RLFB: three 3x3
conv + LeakyReLU(0.05) steps, residual, 1x1 conv, a light ESA (no ``conv_max``/``conv3_``).

* ``rlfn``: 52 channels, 6 RLFBs (x2, x4).
* ``rlfn-ntire22``: ``RLFN_Prune``, 46 feature / 48 mid channels, 4 RLFBs; NTIRE 2022 ESR winner
  (team ByteESR) and NTIRE 2024 ESR baseline (317,218 params, 19.6749 G fvcore FLOPs at 256x256).

Both releases were trained on **0-255 inputs** (``data_range`` 255).
:class:`RLFB` with ``bias=False`` convs is DIPNet's block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Checkpoint, ModelSpec, register

__all__ = ["LightESA", "RLFB", "RLFN"]


def _conv(in_ch: int, out_ch: int, kernel_size: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size, padding=(kernel_size - 1) // 2, bias=bias)


class LightESA(nn.Module):
    """RLFN's ESA: 1x1 squeeze -> strided 3x3 -> max-pool 7/3 -> 3x3 -> bilinear resize -> + 1x1 -> sigmoid.

    ``relu`` is registered but unused, as in the official module (no parameters, never called).
    """

    def __init__(self, esa_channels: int, channels: int) -> None:
        super().__init__()
        f = esa_channels
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)
        self.sigmoid = nn.Sigmoid()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.conv1(x)
        pooled = F.max_pool2d(self.conv2(squeezed), kernel_size=7, stride=3)
        h = F.interpolate(self.conv3(pooled), (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * self.sigmoid(self.conv4(h + self.conv_f(squeezed)))


class RLFB(nn.Module):
    """Residual local feature block; ``bias`` applies to the 3x3 and 1x1 convs (ESA always has biases)."""

    def __init__(self, channels: int, mid_channels: int | None = None, esa_channels: int = 16,
                 bias: bool = True) -> None:
        super().__init__()
        mid = channels if mid_channels is None else mid_channels
        self.c1_r = _conv(channels, mid, 3, bias)
        self.c2_r = _conv(mid, mid, 3, bias)
        self.c3_r = _conv(mid, channels, 3, bias)
        self.c5 = _conv(channels, channels, 1, bias)
        self.esa = LightESA(esa_channels, channels)
        self.act = nn.LeakyReLU(0.05, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out))
        return self.esa(self.c5(out + x))


class RLFN(nn.Module):
    """RLFN / RLFN_Prune / DIPNet body: ``conv_1``, ``block_1..N``, ``conv_2``, ``upsampler``."""

    def __init__(self, scale: int = 4, in_channels: int = 3, out_channels: int = 3, feature_channels: int = 52,
                 mid_channels: int | None = None, num_blocks: int = 6, esa_channels: int = 16,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_blocks = num_blocks
        self.conv_1 = _conv(in_channels, feature_channels, 3, bias)
        for n in range(1, num_blocks + 1):
            self.add_module(f"block_{n}", RLFB(feature_channels, mid_channels, esa_channels, bias))
        self.conv_2 = _conv(feature_channels, feature_channels, 3, bias)
        self.upsampler = nn.Sequential(
            _conv(feature_channels, out_channels * scale**2, 3, bias), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_1(x)
        h = shallow
        for n in range(1, self.num_blocks + 1):
            h = getattr(self, f"block_{n}")(h)
        return self.upsampler(self.conv_2(h) + shallow)


def _build(scale: int, **kwargs) -> RLFN:
    return RLFN(scale=scale, **kwargs)


_RLFN_REPO = "bytedance/RLFN"
_RLFN_COMMIT = "bccfde91bf8b2de80789ec033a029e6f2a932330"

RLFN_SPEC = register(
    ModelSpec(
        name="rlfn",
        family="RLFN",
        display_name="RLFN",
        builder=_build,
        scales=(2, 4),
        kwargs={"feature_channels": 52, "num_blocks": 6},
        checkpoints={
            2: Checkpoint("RLFN_x2.pth", "eafe5d5feeb122022453595c06d79160facdc157ae88deb02a44c50f5eba2d41",
                          _RLFN_REPO, _RLFN_COMMIT, "model_zoo/rlfn_x2.pth", None, bytes=2145309),
            4: Checkpoint("RLFN_x4.pth", "8c7edb57dfc89048bafba29d591d4c27d4099964b4a9e22df23d6dc257a637c0",
                          _RLFN_REPO, _RLFN_COMMIT, "model_zoo/rlfn_x4.pth", None, bytes=2212893),
        },
        data_range=255.0,
        paper="CVPRW22",
        published_name=None,
        notes="52 channels, 6 RLFBs; input range 0-255",
    )
)

RLFN_NTIRE22_SPEC = register(
    ModelSpec(
        name="rlfn-ntire22",
        family="RLFN",
        display_name="RLFN (NTIRE 2022 winner / NTIRE 2024 baseline)",
        builder=_build,
        scales=(4,),
        kwargs={"feature_channels": 46, "mid_channels": 48, "num_blocks": 4},
        checkpoints={
            4: Checkpoint("RLFN-NTIRE_x4.pth", "3c9be7b9d7a4bece9b68c83a56a1ffb38010f76413d5f215be6b4be842e18fb2",
                          "Amazingren/NTIRE2024_ESR", "6404fa48dde4a4adbf241a51debdc661aef20449",
                          "model_zoo/team00_rlfn.pth", None, bytes=1294011),
        },
        data_range=255.0,
        paper="CVPRW22",
        published_name=None,
        notes=("RLFN_Prune: 46 feature / 48 mid channels, 4 RLFBs; NTIRE 2022 ESR winner (ByteESR) and NTIRE 2024 "
               "ESR baseline; same file as bytedance/RLFN model_zoo/rlfn_ntire_x4.pth; input range 0-255"),
    ),
    aliases=("rlfn-prune", "rlfn-ntire"),
)
