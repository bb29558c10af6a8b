"""Manifest options of official branches: positional args, null, post-load steps, loader methods,
official tiling and the pad-and-crop forward; every figure measured after the post-load steps."""

from __future__ import annotations

import pytest
import torch

from challenge.manifest import ManifestError, load_manifest
from challenge.validate import validate_submission
from challenge.worker import team_forward

from .challenge_fixtures import REPARAM, reparam_state, team_toml, write_team

# RepSR after switch_deploy = TinySR: head 3x3 3->8 and tail 3x3 8->48, per LR pixel
# params 8*3*9 + 8 + 48*8*9 + 48 = 3,728; MACs 3*8*9 + 8*48*9 = 3,672 -> x 256*256 = 240,648,192.
# Unfused, the 1x1 branch adds 3*8 + 8 = 32 params and 24 MACs per pixel (65536 * 24 = 1,572,864).
FUSED_PARAMS, FUSED_FLOPS = 3_728, 240_648_192
UNFUSED_PARAMS, UNFUSED_FLOPS = 3_760, 242_221_056


@pytest.fixture(scope="module")
def reps(tmp_path_factory):
    root = tmp_path_factory.mktemp("sub")
    sd = reparam_state()
    null = {"null": True}
    toml = ["year = 2025\n"]
    write_team(root, "21", "Rep", REPARAM, "RepSR", sd)
    toml.append(team_toml("21", "Rep", "RepSR") + 'args = [8]\nkwargs = { note = { null = true } }\n'
                'post_load = [{ call_each = "switch_deploy" }]\n')
    write_team(root, "22", "RepNoStep", REPARAM, "RepSR", sd)
    toml.append(team_toml("22", "RepNoStep", "RepSR") + 'kwargs = { note = { null = true } }\n')
    write_team(root, "23", "Loader", REPARAM, "RepSR", {"net": sd})
    toml.append(team_toml("23", "Loader", "RepSR") + 'args = [8, { null = true }]\n'
                'post_load = [{ load = "load_weights" }, { call = "fuse" }]\n')
    (root / "submission.toml").write_text("\n".join(toml))
    assert load_manifest(root).teams[0].kwargs == {"note": None} and null
    reports = {r.team: r for r in validate_submission(root, timeout_s=120, memory_mb=4096, jobs=2)}
    return reports


def test_reparameterised_team_measured_after_switch_deploy(reps):
    r = reps["21_Rep"]
    assert r.ok, [f.to_dict() for f in r.findings]
    m = r.metrics
    assert m["params"] == m["params_before_forward"] == FUSED_PARAMS
    assert m["fvcore_flops_lr256"] == FUSED_FLOPS
    assert m["convs_lr256"] == 2 and r.official["num_conv"] == 2
    assert r.official["flops"] == FUSED_FLOPS / 1e9 and r.official["num_parameters"] == FUSED_PARAMS / 1e6
    assert m["post_load"] == ["call_each switch_deploy (1 module(s))"]
    assert m["params_constructed"] == UNFUSED_PARAMS


def test_without_the_step_the_unfused_network_is_counted(reps):
    m = reps["22_RepNoStep"].metrics
    assert (m["params"], m["fvcore_flops_lr256"], m["convs_lr256"]) == (UNFUSED_PARAMS, UNFUSED_FLOPS, 3)


def test_loader_method_and_model_call(reps):
    r = reps["23_Loader"]
    assert r.ok, [f.to_dict() for f in r.findings]
    assert r.metrics["loaded_with"] == "model.load_weights(checkpoint path)"
    assert (r.metrics["params"], r.metrics["fvcore_flops_lr256"]) == (FUSED_PARAMS, FUSED_FLOPS)
    # the fused network computes what the unfused one did: same check-image PSNR as the unfused team
    assert r.metrics["check_psnr"] == pytest.approx(reps["22_RepNoStep"].metrics["check_psnr"], abs=1e-3)


def _tile_dependent(x):
    """Nearest x4 upscaling plus the mean of the whole input: the output depends on the tile."""
    return torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest") + x.mean()


def _official_by_hand(x, tile, overlap=32, sf=4):
    """The official tiling rule written out: tile = min(tile, h, w); origins every tile-overlap LR
    pixels plus the last flush tile; overlapping outputs averaged pixel by pixel."""
    _, c, h, w = x.shape
    tile = min(tile, h, w)
    step = tile - overlap
    hs = [*range(0, h - tile, step), h - tile]
    ws = [*range(0, w - tile, step), w - tile]
    acc = torch.zeros(1, c, h * sf, w * sf, dtype=torch.float64)
    cnt = torch.zeros_like(acc)
    for t in hs:
        for left in ws:
            y = _tile_dependent(x[..., t:t + tile, left:left + tile]).double()
            acc[..., t * sf:(t + tile) * sf, left * sf:(left + tile) * sf] += y
            cnt[..., t * sf:(t + tile) * sf, left * sf:(left + tile) * sf] += 1
    return acc / cnt


def test_official_tiling_rule_on_a_tile_dependent_model():
    x = torch.rand(1, 3, 50, 45, generator=torch.Generator().manual_seed(0))
    entry = {"tile": 40, "tile_overlap": 32}
    got = team_forward(_tile_dependent, x, entry)
    # tile 40 on 50x45: origins rows [0, 8, 10], columns [0, 5]; six tiles of 40x40
    want = _official_by_hand(x, 40)
    assert got.shape == (1, 3, 200, 180)
    assert torch.allclose(got.double(), want, atol=1e-6)
    whole = team_forward(_tile_dependent, x, {})
    assert not torch.allclose(got, whole, atol=1e-3)  # the model really is tile-dependent
    # a tile larger than the image is clamped to min(tile, h, w) = 45: square 45x45 tiles, not the whole
    big = team_forward(_tile_dependent, x, {"tile": 64, "tile_overlap": 32})
    assert torch.allclose(big.double(), _official_by_hand(x, 45), atol=1e-6)
    assert not torch.allclose(big, whole, atol=1e-4)
    # the old overlap-8 rule gives another image
    eight = team_forward(_tile_dependent, x, {"tile": 40, "tile_overlap": 8})
    assert not torch.allclose(eight.double(), want, atol=1e-4)


def test_pad_crop_forward():
    x = torch.rand(1, 3, 20, 23, generator=torch.Generator().manual_seed(1))
    seen = []

    def net(t):
        seen.append(tuple(t.shape[-2:]))
        return torch.nn.functional.interpolate(t, scale_factor=4, mode="nearest")

    y = team_forward(net, x, {"forward": "pad-crop", "pad_multiple": 16, "pad_mode": "reflect"})
    assert seen == [(32, 32)] and y.shape == (1, 3, 80, 92)
    assert torch.equal(y, torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest"))


@pytest.mark.parametrize("extra, msg", [
    ('post_load = [{ run = "x" }]', "post_load step #1"),
    ('post_load = [{ load = "a" }, { load = "b" }]', "more than one"),
    ('forward = "tta"', "forward must be one of"),
    ("tile = 32", "larger than tile_overlap"),
    ("args = 3", "args must be a list"),
    ('forward = "pad-crop"\ntile = 64', "cannot be combined"),
])
def test_manifest_option_errors(tmp_path, extra, msg):
    (tmp_path / "submission.toml").write_text(team_toml("01", "A", "A") + extra + "\n")
    with pytest.raises(ManifestError, match=msg):
        load_manifest(tmp_path)
