"""MATLAB-compatible bicubic: bit-exact against the community's MATLAB-made Set5 LR images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from bench import imresize as imr
from bench.data import make_lr, modcrop
from models import create_model
from tests.conftest import SHARED

SET5 = SHARED / "datasets" / "Set5"
SET5_NAMES = sorted(p.stem for p in (SET5 / "HR").glob("*.png"))


def _rgb(path) -> np.ndarray:
    return np.array(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_set5_lr_reproduced_bit_exact(scale: int) -> None:
    assert len(SET5_NAMES) == 5
    differing = 0
    for name in SET5_NAMES:
        hr = _rgb(SET5 / "HR" / f"{name}.png")
        ref = _rgb(SET5 / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png")
        lr = make_lr(hr, scale)
        assert lr.dtype == np.uint8 and lr.shape == ref.shape
        differing += int(np.count_nonzero(lr != ref))
    assert differing == 0


def test_pass_order_and_per_pass_rounding_matter() -> None:
    """Columns first, or rounding only once at the end, do NOT reproduce MATLAB (so the test above is sharp)."""
    hr = modcrop(_rgb(SET5 / "HR" / "baby.png"), 4)
    ref = _rgb(SET5 / "LR_bicubic" / "X4" / "babyx4.png")
    w_rows = imr.resize_weights(hr.shape[0], hr.shape[0] // 4, 0.25)
    w_cols = imr.resize_weights(hr.shape[1], hr.shape[1] // 4, 0.25)
    cols_first = np.einsum("ow,hwc->hoc", w_cols, hr.astype(np.float64))
    cols_first = np.clip(np.floor(cols_first + 0.5), 0, 255)
    cols_first = np.clip(np.floor(np.einsum("oh,hwc->owc", w_rows, cols_first) + 0.5), 0, 255).astype(np.uint8)
    assert np.count_nonzero(cols_first != ref) > 1000
    once = imr.imresize(hr.astype(np.float64), 0.25)
    once = np.clip(np.floor(once + 0.5), 0, 255).astype(np.uint8)
    assert np.count_nonzero(once != ref) > 1000


def test_cubic_kernel_and_weights() -> None:
    x = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(imr.cubic(x), [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0], atol=1e-15)
    # antialiased shrinking: support 4*s input pixels; x3: 9 non-zero taps (kernel 0 at +-3), x2: 8, x4: 16
    for s, taps in ((3, 9), (2, 8), (4, 16)):
        w = imr.resize_weights(60, 60 // s, 1 / s)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
        assert np.count_nonzero(w[5]) == taps
    up = imr.resize_weights(5, 10, 2.0)
    np.testing.assert_allclose(up.sum(axis=1), 1.0, atol=1e-12)
    # x2 upscaling: output pixel 1 sits at input 0.75 (1-based); taps 0 and -1 mirror onto pixels 1 and 2
    c = imr.cubic
    np.testing.assert_allclose(up[0, :3], [c(0.75) + c(0.25), c(1.75) + c(1.25), 0.0], atol=1e-15)


def test_output_size_and_float_input() -> None:
    img = np.full((9, 7, 3), 0.25)
    out = imr.imresize(img, 0.5)
    assert out.shape == (5, 4, 3)  # ceil, as MATLAB
    np.testing.assert_allclose(out, 0.25, atol=1e-12)  # a constant image stays constant
    assert imr.imresize(np.zeros((6, 8), np.uint8), size=(3, 2)).shape == (3, 2)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_model_is_matlab_uint8_upscaling(scale: int) -> None:
    model = create_model("bicubic", scale)
    assert sum(p.numel() for p in model.parameters()) == 0
    assert model.data_range == 1.0
    lr = _rgb(SET5 / "LR_bicubic" / f"X{scale}" / f"birdx{scale}.png")
    expected = imr.imresize(lr, float(scale))
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        y = model(x)
    got = torch.round(y[0].clamp(0, 1) * 255).permute(1, 2, 0).to(torch.uint8).numpy()
    assert got.shape == (lr.shape[0] * scale, lr.shape[1] * scale, 3)
    assert np.count_nonzero(got != expected) == 0
    # torch (float64 passes) and numpy agree on float input too
    xf = torch.rand(1, 3, 9, 11, dtype=torch.float64)
    ref = imr.imresize(xf[0].permute(1, 2, 0).numpy(), float(scale))
    out = imr.imresize_torch(xf, float(scale))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_anisotropic_scale_is_applied_per_axis_in_order() -> None:
    """scale=(sh, sw): rows by sh, columns by sw (MATLAB's [h w] order); the same as two single-axis resizes."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8).astype(np.float64)
    both = imr.imresize(img, (0.5, 0.25))
    assert both.shape == (6, 5, 3)
    rows_only = imr.imresize(img, (0.5, 1.0))
    assert rows_only.shape == (6, 20, 3)
    assert imr.imresize(img, (0.25, 0.5)).shape == (3, 10, 3)


@pytest.mark.parametrize("dtype", [np.int32, np.uint16, np.int64, bool])
def test_integer_images_other_than_uint8_are_refused(dtype) -> None:
    with pytest.raises(TypeError, match="uint8 and float"):
        imr.imresize(np.ones((8, 8), dtype=dtype), 0.5)


def test_output_size_equals_the_matching_scale() -> None:
    """size=(H, W) uses the factors H/h and W/w in the kernel: the same values as the explicit scale tuple."""
    img = np.random.default_rng(1).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    np.testing.assert_array_equal(imr.imresize(img, size=(6, 5)), imr.imresize(img, (0.5, 0.25)))
    np.testing.assert_array_equal(imr.imresize(img, size=(24, 10)), imr.imresize(img, (2.0, 0.5)))


def test_passes_run_smaller_factor_first_and_identity_passes_are_skipped() -> None:
    """MATLAB resizes along the dimension with the smaller factor first (uint8 rounding after each pass); a
    factor-1 pass is skipped, and one that keeps the length with another factor (0.99 on 12 -> 12) is not."""
    img = np.random.default_rng(2).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    cols_first = imr.imresize(imr.imresize(img, (1.0, 0.25)), (0.5, 1.0))
    rows_first = imr.imresize(imr.imresize(img, (0.5, 1.0)), (1.0, 0.25))
    assert not np.array_equal(cols_first, rows_first)  # the order is visible in uint8
    np.testing.assert_array_equal(imr.imresize(img, (0.5, 0.25)), cols_first)
    assert imr.imresize(img, (1.0, 2.0)).shape == (12, 40, 3)  # the skipped pass comes first here
    kept = imr.imresize(img.astype(np.float64), (0.99, 1.0))
    assert kept.shape == (12, 20, 3) and not np.allclose(kept, img)  # same length, still resampled
    np.testing.assert_array_equal(imr.imresize(img, (1.0, 1.0)), img)


def test_float32_images_are_accepted() -> None:
    out = imr.imresize(np.full((8, 8), 3.0, dtype=np.float32), 0.5)
    assert out.dtype == np.float64 and out.shape == (4, 4) and np.allclose(out, 3.0)
