"""EFDN: Edge-enhanced Feature Distillation Network (Wang, CVPRW 2022), deploy form.

Written for esr-bench from the layout of the official checkpoint (Amazingren/NTIRE2025_ESR
``models/team00_EFDN.py``, ``model_zoo/team00_EFDN.pth``, the same file as NTIRE2022_ESR
``team01_efdn.pth``): parameter names and operator order follow the official model so the checkpoint
loads with ``strict=True`` and outputs match to float precision.

EFDN was team NEESR's NTIRE 2022 ESR entry and is the NTIRE 2025 ESR baseline. Its
edge-enhanced diverse branch blocks (EDBB: 3x3 + 1x1 + 1x1->Sobel-x/Sobel-y/Laplacian branches) are
trained separately and re-parameterised into one 3x3 conv (``rep_conv``) + PReLU; the released
checkpoint holds this deploy form only, so that is what is implemented (276,192 parameters, equal
before and after a forward pass).

Structure: 3x3 head -> 4 cells -> local fusion of (cell1, cell2), (cell2, cell3), (cell2, cell4) by
1x1 convs (the third pair really is cell 2 with cell 4, as released) -> long skip -> conv +
PixelShuffle -> ``clamp(0, 1)``. Cell: 1x1 conv + PReLU -> two EDBBs -> four 1x1 branch convs (input
and each step, 24 channels each) -> 1x1 fusion -> ESA (RFDN's) -> residual. Input range 0-1.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import Checkpoint, ModelSpec, register
from .rfdn import ESA

__all__ = ["EFDN", "EFDNCell", "EDBBDeploy"]


class _ConvPReLU(nn.Module):
    """1x1 conv + channel-wise PReLU (keys ``conv1x1``, ``act``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1x1 = nn.Conv2d(channels, channels, 1, 1, 0)
        self.act = nn.PReLU(num_parameters=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv1x1(x))


class EDBBDeploy(nn.Module):
    """A re-parameterised EDBB: one 3x3 conv (``rep_conv``) + channel-wise PReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.rep_conv = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.act = nn.PReLU(num_parameters=out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.rep_conv(x))


class EFDNCell(nn.Module):
    """EFDN's feature distillation cell (keys ``conv1..3``, ``fuse``, ``att``, ``branch.0..3``)."""

    def __init__(self, channels: int = 48) -> None:
        super().__init__()
        self.conv1 = _ConvPReLU(channels)
        self.conv2 = EDBBDeploy(channels, channels)
        self.conv3 = EDBBDeploy(channels, channels)
        self.fuse = nn.Conv2d(channels * 2, channels, 1, 1, 0)
        self.att = ESA(channels)
        self.branch = nn.ModuleList([nn.Conv2d(channels, channels // 2, 1, 1, 0) for _ in range(4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        branches = [self.branch[0](x), self.branch[1](out1), self.branch[2](out2), self.branch[3](out3)]
        return self.att(self.fuse(torch.cat(branches, dim=1))) + x


class EFDN(nn.Module):
    """EFDN in deploy form (48 channels, 4 cells); output clamped to [0, 1] as in the official forward."""

    def __init__(self, scale: int = 4, in_channels: int = 3, n_feats: int = 48, out_channels: int = 3) -> None:
        super().__init__()
        self.head = nn.Conv2d(in_channels, n_feats, 3, 1, 1)
        self.cells = nn.ModuleList([EFDNCell(n_feats) for _ in range(4)])
        self.local_fuse = nn.ModuleList([nn.Conv2d(n_feats * 2, n_feats, 1, 1, 0) for _ in range(3)])
        self.tail = nn.Sequential(nn.Conv2d(n_feats, out_channels * scale**2, 3, 1, 1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out0 = self.head(x)
        out1 = self.cells[0](out0)
        out2 = self.cells[1](out1)
        out2_fuse = self.local_fuse[0](torch.cat([out1, out2], dim=1))
        out3 = self.cells[2](out2_fuse)
        out3_fuse = self.local_fuse[1](torch.cat([out2, out3], dim=1))
        out4 = self.cells[3](out3_fuse)
        out4_fuse = self.local_fuse[2](torch.cat([out2, out4], dim=1))
        return self.tail(out4_fuse + out0).clamp(0, 1)


def _build(scale: int, **kwargs) -> EFDN:
    return EFDN(scale=scale, **kwargs)


EFDN_SPEC = register(
    ModelSpec(
        name="efdn",
        family="EFDN",
        display_name="EFDN",
        builder=_build,
        scales=(4,),
        kwargs={"n_feats": 48},
        checkpoints={
            4: Checkpoint("EFDN_x4.pth", "71069f10ef234cd123f45ac8e69099f0a1fdc0c16afcfe2189e50071d47ce477",
                          "Amazingren/NTIRE2025_ESR", "b69fb668c0362deb696eecbfdebfaa5c2fcdfcb4",
                          "model_zoo/team00_EFDN.pth", None, bytes=1153119),
        },
        data_range=1.0,
        paper="CVPRW22",
        published_name=None,
        notes=("deploy form (EDBBs folded into 3x3 convs), 48 channels, 4 cells, output clamped to [0, 1]; "
               "NTIRE 2022 ESR team NEESR, NTIRE 2025 ESR baseline"),
    )
)
