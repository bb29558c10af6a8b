"""DIPNet (Yu et al., CVPRW 2023): the NTIRE 2023 ESR winner (team MegSR), deploy form.

Written for esr-bench from the layout of the official checkpoint (xiumu00/DIPNet ``models/DIPNet.py``,
``model_zoo/DIPNet.pth``): parameter names and operator order follow the official model so the
checkpoint loads with ``strict=True`` and outputs match to float precision.

DIPNet trains re-parameterisable residual feature blocks (RRFB) with distillation and pruning; the
released checkpoint is the folded form, which is RLFN's layout with bias-free convolutions
(ESA keeps its biases): 44 feature / 38 mid channels, 4 blocks, 243,252 parameters. Input range 0-1.
"""

from __future__ import annotations

from .registry import Checkpoint, ModelSpec, register
from .rlfn import RLFN

__all__ = ["build_dipnet"]


def build_dipnet(scale: int = 4, **kwargs) -> RLFN:
    """DIPNet deploy form: :class:`models.rlfn.RLFN` with ``bias=False`` convs (keys ``conv_1``, ``block_N``)."""
    options = {"feature_channels": 44, "mid_channels": 38, "num_blocks": 4, "bias": False, **kwargs}
    return RLFN(scale=scale, **options)


DIPNET_SPEC = register(
    ModelSpec(
        name="dipnet",
        family="DIPNet",
        display_name="DIPNet",
        builder=build_dipnet,
        scales=(4,),
        kwargs={"feature_channels": 44, "mid_channels": 38, "num_blocks": 4, "bias": False},
        checkpoints={
            4: Checkpoint("DIPNet_x4.pth", "7495450802b78cd15f4892851b2479de6605b24f1df1dbbfcaa5227201d61cc1",
                          "xiumu00/DIPNet", "69f43a7873a866a492ee316bc579e56b6f861170", "model_zoo/DIPNet.pth",
                          None, bytes=991924),
        },
        data_range=1.0,
        paper="CVPRW23",
        published_name=None,
        notes="deploy form: 44 feature / 38 mid channels, 4 RRFBs, bias-free convs; NTIRE 2023 ESR winner (MegSR)",
    )
)
