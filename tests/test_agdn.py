"""AGDN / AGDN-S: exact parameter counts of the paper's models and ablation variants, TLC behaviour."""

from __future__ import annotations

import pytest
import torch

from models import create_model
from models.agdn import AGDN, tlc_windows


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "scale", "expected"), [
    ("agdn", 2, 280_530), ("agdn", 3, 286_215), ("agdn", 4, 294_174), ("agdn-s", 4, 69_272),
])
def test_param_counts(name: str, scale: int, expected: int) -> None:
    assert n_params(create_model(name, scale)) == expected


@pytest.mark.parametrize(("options", "expected"), [
    ({"spatial_attn": "none", "channel_attn": "none", "sgsa": False}, 126_552),  # table 1 row 1
    ({"channel_attn": "none", "sgsa": False}, 144_766),  # MVSA only
    ({"spatial_attn": "none", "sgsa": False}, 132_761),  # RCCA only
    ({"sgsa": False}, 150_975),  # MVSA + RCCA
    ({"num_block": 5}, 216_294),  # table 4
    ({"num_block": 6}, 255_234),
])
def test_ablation_param_counts(options: dict, expected: int) -> None:
    assert n_params(create_model("agdn", 4, **options)) == expected


def test_bad_variant_option_is_refused() -> None:
    with pytest.raises(ValueError, match="spatial_attn"):
        create_model("agdn", 4, spatial_attn="esa")


def test_tlc_window_layout_matches_megvii_tlc() -> None:
    k1, k2, corners = tlc_windows(256, 256, 48)
    rows = sorted({i for i, _ in corners})
    assert (k1, k2) == (48, 48)
    assert rows == [0, 42, 84, 126, 168, 208]  # step ceil(208/5)=42, last window flush with the edge
    assert len(corners) == 36
    k1, k2, corners = tlc_windows(30, 100, 96)  # smaller than the window: one full-height window row
    assert (k1, k2) == (30, 96) and corners == [(0, 0), (0, 4)]


def test_tlc_changes_output_only_in_eval_and_can_be_switched() -> None:
    torch.manual_seed(0)
    model = AGDN(scale=2, num_feat=12, num_block=1, tlc_kernel=8).eval()
    x = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        y_tlc = model(x)
        model.set_tlc(False)
        y_global = model(x)
    assert not model.tlc
    assert y_tlc.shape == y_global.shape == (1, 3, 40, 40)
    assert not torch.allclose(y_tlc, y_global)
    # a window as large as the image is global attention
    model.set_tlc(True)
    for m in model.modules():
        if hasattr(m, "tlc_kernel"):
            m.tlc_kernel = 64
    with torch.no_grad():
        assert torch.allclose(model(x), y_global, atol=1e-6)


def test_batched_input_equals_per_image() -> None:
    torch.manual_seed(0)
    model = AGDN(scale=2, num_feat=12, num_block=1, tlc_kernel=8).eval()
    x = torch.rand(2, 3, 16, 18)
    with torch.no_grad():
        both = model(x)
        single = torch.cat([model(x[:1]), model(x[1:])])
    assert torch.allclose(both, single, atol=1e-6)
