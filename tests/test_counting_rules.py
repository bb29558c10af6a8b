"""The suite's own counting arithmetic on tiny hand-built nets, every figure worked out by hand.

Fast (no model zoo, no ``measure_complexity``): these tests are the selection ``nox -s mutation`` runs
against each mutant of ``bench/complexity/{complete,census,crosscheck,counters}.py``. Units: MACs, one
multiply-add = 1; a KxK convolution C_in -> C_out over H x W output positions is K*K*C_in*C_out*H*W
(per group: C_in / groups), bias never counted.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.complexity.complete import complete_count


class _Fn(nn.Module):
    """A module whose forward is ``fn`` (nothing for a module-hook counter to see)."""

    def __init__(self, fn) -> None:  # noqa: ANN001
        super().__init__()
        self.fn = fn

    def forward(self, *a: torch.Tensor) -> torch.Tensor:
        return self.fn(*a)


# ---- the complete count ---------------------------------------------------------------------------------------


class _Nearest(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (F.interpolate(x, scale_factor=2, mode="nearest"),
                F.interpolate(x, size=(5, 4), mode="nearest-exact"),
                F.interpolate(x.flatten(2), scale_factor=3, mode="nearest"),
                F.interpolate(x[:, :, None], scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("shape_only", [False, True])
def test_nearest_interpolation_counts_one_per_output_element(shape_only: bool) -> None:
    """Regression: FlopCounterMode decomposed ``upsample_nearest*`` into index arithmetic (24 "MACs" of
    add/mul on index vectors for the first case) before the rule saw it. On 1x2x3x3: nearest x2 -> 1x2x6x6
    = 72; nearest-exact to 5x4 -> 40; 1-D x3 on 1x2x9 -> 54; 3-D x2 on 1x2x1x3x3 -> 1x2x2x6x6 = 144."""
    c = complete_count(_Nearest(), (torch.rand(1, 2, 3, 3),), shape_only=shape_only)
    assert c.by_operator == {"aten::upsample_nearest2d": 72, "aten::_upsample_nearest_exact2d": 40,
                             "aten::upsample_nearest1d": 54, "aten::upsample_nearest3d": 144}
    assert c.by_category == {"interpolation": 310} and c.total == 310
