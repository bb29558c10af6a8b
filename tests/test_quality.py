"""Quality evaluation: metrics vs independent implementations, official numbers, tiling, NTIRE path, CLI."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.cli import main as cli_main
from bench.data import make_lr, modcrop, read_image
from bench.imresize import imresize
from bench.metrics import prepare, psnr, rgb_to_y, ssim
from bench.quality import evaluate, forward_tiled
from models import create_model, list_models
from tests.conftest import SHARED, read_reference_csv

DATASETS = SHARED / "datasets"
OFFICIAL = read_reference_csv(SHARED / "reference" / "official_quality.csv")


def _rgb(path: Path) -> np.ndarray:
    return np.array(Image.open(path).convert("RGB"))


def _sr_pair(name: str = "bird", scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A realistic (SR, HR) pair: MATLAB bicubic upscaling of the Set5 LR against its modcropped HR."""
    hr = modcrop(_rgb(DATASETS / "Set5" / "HR" / f"{name}.png"), scale)
    lr = _rgb(DATASETS / "Set5" / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png")
    return imresize(lr, float(scale)), hr


# --------------------------------------------------------------------------- metrics: independent refs


def _ssim_direct_2d(a: np.ndarray, b: np.ndarray) -> float:
    """Float64 SSIM written differently: explicit 2-D Gaussian window over every valid position."""
    from numpy.lib.stride_tricks import sliding_window_view

    x = np.arange(11) - 5.0
    g = np.exp(-(x**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()

    def filt(img: np.ndarray) -> np.ndarray:
        return np.einsum("ijkl,kl->ij", sliding_window_view(img, (11, 11)), w)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = filt(a), filt(b)
    sxx, syy, sxy = filt(a * a) - mx**2, filt(b * b) - my**2, filt(a * b) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(m.mean())


@pytest.mark.parametrize("scale", [2, 4])
def test_y_psnr_ssim_match_scikit_image(scale: int) -> None:
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    sr, hr = _sr_pair("butterfly", scale)
    # skimage's rgb2ycbcr is MATLAB's: Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in [0, 1]
    y_sr = rgb2ycbcr(sr / 255.0)[..., 0][scale:-scale, scale:-scale]
    y_hr = rgb2ycbcr(hr / 255.0)[..., 0][scale:-scale, scale:-scale]
    a, b = prepare(sr, "Y", scale), prepare(hr, "Y", scale)
    np.testing.assert_allclose(a[0].numpy(), y_sr, atol=1e-10)
    ref_psnr = peak_signal_noise_ratio(y_hr, y_sr, data_range=255)
    assert abs(psnr(a, b) - ref_psnr) < 1e-6
    ref_ssim = structural_similarity(y_hr, y_sr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255)
    assert abs(ssim(a, b) - ref_ssim) < 1e-6
    assert abs(ssim(a, b) - _ssim_direct_2d(y_sr, y_hr)) < 1e-6
    assert 0.5 < ref_ssim < 1.0 and 15 < ref_psnr < 40  # a real, imperfect reconstruction


def test_rgb_psnr_ssim_match_float64_reference() -> None:
    sr, hr = _sr_pair("head", 4)
    d = sr[4:-4, 4:-4].astype(np.float64) - hr[4:-4, 4:-4].astype(np.float64)
    ref = 20 * math.log10(255.0 / math.sqrt(np.mean(d**2)))  # NTIRE's formula
    a, b = prepare(sr, "RGB", 4), prepare(hr, "RGB", 4)
    assert abs(psnr(a, b) - ref) < 1e-6
    ref_ssim = np.mean([_ssim_direct_2d(sr[4:-4, 4:-4, c].astype(float), hr[4:-4, 4:-4, c].astype(float))
                        for c in range(3)])
    assert abs(ssim(a, b) - ref_ssim) < 1e-6
    assert psnr(b, b) == math.inf and ssim(b, b) == pytest.approx(1.0, abs=1e-12)


def test_y_of_grey_and_known_values() -> None:
    rgb = torch.tensor([[[255.0, 0.0]], [[255.0, 0.0]], [[255.0, 0.0]]])
    np.testing.assert_allclose(rgb_to_y(rgb).numpy().ravel(), [235.0, 16.0], atol=1e-12)  # MATLAB range 16-235
    with pytest.raises(ValueError, match="border"):
        prepare(np.zeros((6, 6, 3), np.uint8), "Y", 3)


# ------------------------------------------------------------------------- official numbers (paper)


def _row_id(r: dict[str, str]) -> str:
    return f"{r['official_model']}-x{r['scale']}-{r['dataset']}"


@pytest.mark.slow
@pytest.mark.parametrize("row", OFFICIAL, ids=[_row_id(r) for r in OFFICIAL])
def test_official_quality_reproduced(row: dict[str, str]) -> None:
    """Every row of official_quality.csv: PSNR within 0.002 dB, SSIM within 0.0002 (paper protocol)."""
    name, scale = row["zoo_name"], int(row["scale"])
    assert name in list_models(), f"{name} missing from the zoo"
    dataset = DATASETS / row["dataset"]
    if row["official_model"] == "AGDN-noTLC":
        record = evaluate(create_model(name, scale, pretrained=True, tlc=False), scale, dataset)
    else:
        record = evaluate(name, scale, dataset)
    assert record.status == "ok", record.message
    assert record.n_images == int(row["n_images"])
    assert record.protocol["lr_source"] == "bicubic"  # paper protocol: the exact bicubic, LR files only compared
    if row["dataset"] == "Set5":  # the community's Set5 LR folder is MATLAB-exact: 0 differing values
        assert record.lr_check is not None and record.lr_check["images"] == 5
        assert record.lr_check["values_differing"] == 0 and record.lr_check["max_abs_diff"] == 0
    assert abs(record.psnr - float(row["psnr"])) <= 0.002, (record.psnr, row["psnr"])
    assert abs(record.ssim - float(row["ssim"])) <= 0.0002, (record.ssim, row["ssim"])


def test_bicubic_needs_no_weights_and_matches_the_literature(tmp_path: Path) -> None:
    """The classic 'Bicubic' row of SR papers: Set5 x4 28.42 dB (Y, border 4)."""
    record = evaluate("bicubic", 4, DATASETS / "Set5", weights_dir=tmp_path)
    assert record.status == "ok" and record.n_images == 5
    assert abs(record.psnr - 28.42) < 0.02
    with pytest.raises(Exception, match="no public checkpoint"):
        create_model("bicubic", 4, pretrained=True)


def test_missing_weights_give_no_checkpoint_record(tmp_path: Path) -> None:
    record = evaluate("agdn-s", 4, DATASETS / "Set5", weights_dir=tmp_path)
    assert record.status == "no_checkpoint" and record.psnr is None and record.per_image == []
    assert "esr-bench weights fetch agdn-s" in record.message
    assert record.dataset == "Set5" and record.protocol["name"] == "paper"


# ------------------------------------------------------------------------------------------ tiling


class _SmallConvSR(torch.nn.Module):
    """A tile-invariant toy SR net: receptive field radius 3 LR pixels, then PixelShuffle x2."""

    data_range = 1.0

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3, padding=1),
            torch.nn.ReLU(), torch.nn.Conv2d(8, 12, 3, padding=1), torch.nn.PixelShuffle(2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest") + 0.1 * self.body(x)


def test_tiled_inference_equals_whole_image() -> None:
    net = _SmallConvSR().eval()
    x = torch.rand(1, 3, 50, 37)
    with torch.no_grad():
        whole = net(x)
        tiled = forward_tiled(net, x, 2, tile=16, overlap=8)
    assert torch.allclose(whole, tiled, atol=1e-5)
    with torch.no_grad():
        cut = forward_tiled(net, x, 2, tile=16, overlap=0)  # no overlap: seams differ
    assert (cut - whole).abs().max() > 1e-3
    for model, scale in ((net, 2), ("bicubic", 3)):
        a = evaluate(model, scale, DATASETS / "Set5", protocol="ntire")
        b = evaluate(model, scale, DATASETS / "Set5", protocol="ntire", tile=24, tile_overlap=8)
        assert b.protocol["tile"] == 24
        for ra, rb in zip(a.per_image, b.per_image, strict=True):
            assert abs(ra["psnr"] - rb["psnr"]) < 0.01


# ----------------------------------------------------------------------------------- NTIRE end to end


def _independent_ntire_psnr(model: torch.nn.Module, hr_path: Path, lr_path: Path) -> float:
    """NTIRE test_demo arithmetic, written out: RGB, border 4, float64, output clamp/scale/round."""
    hr = modcrop(_rgb(hr_path), 4).astype(np.float64)
    lr = _rgb(lr_path)
    dr = model.data_range
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float().div(255.0 / dr)
    with torch.no_grad():
        y = model(x)
    sr = np.uint8((y[0].clamp(0, dr).permute(1, 2, 0).numpy() * 255.0 / dr).round()).astype(np.float64)
    mse = np.mean((sr[4:-4, 4:-4] - hr[4:-4, 4:-4]) ** 2)
    return 20 * math.log10(255.0 / math.sqrt(mse))


@pytest.mark.parametrize("model_name", ["agdn-s", "rlfn-ntire22"])
@pytest.mark.parametrize("prefix", ["DIV2K_LSDIR_valid", "DIV2K_valid"])
def test_ntire_path_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture, model_name: str, prefix: str) -> None:
    assert model_name in list_models()
    stems = ("comic", "face", "foreman")
    for stem in stems:
        hr_path = tmp_path / f"{prefix}_HR" / f"{stem}.png"
        hr_path.parent.mkdir(exist_ok=True)
        shutil.copy(DATASETS / "Set14" / "HR" / f"{stem}.png", hr_path)  # not modcropped: the suite crops
        lr_path = tmp_path / f"{prefix}_LR" / f"{stem}x4.png"
        lr_path.parent.mkdir(exist_ok=True)
        Image.fromarray(make_lr(read_image(hr_path), 4)).save(lr_path)
    rc = cli_main(["eval", model_name, "--dataset", str(tmp_path), "--protocol", "ntire", "--json", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    record = json.loads(out)
    assert record["status"] == "ok" and record["dataset"] == prefix
    assert record["protocol"]["channel"] == "RGB" and record["protocol"]["border"] == 4
    assert record["protocol"]["lr_source"] == "files" and record["ssim"] is None
    model = create_model(model_name, 4, pretrained=True)
    expected = [_independent_ntire_psnr(model, tmp_path / f"{prefix}_HR" / f"{s}.png",
                                        tmp_path / f"{prefix}_LR" / f"{s}x4.png") for s in stems]
    assert [r["name"] for r in record["per_image"]] == list(stems)
    for got, exp in zip(record["per_image"], expected, strict=True):
        assert abs(got["psnr"] - exp) < 1e-6
    assert abs(record["psnr"] - float(np.mean(expected))) < 1e-6
    assert 20 < record["psnr"] < 35


# --------------------------------------------------------------------------------------------- CLI


def test_eval_cli_text_save_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = cli_main(["eval", "bicubic", "--scale", "2", "--dataset", str(DATASETS / "Set5"), "--save",
                   str(tmp_path / "sr"), "--out", str(tmp_path / "res"), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0
    record = json.loads((tmp_path / "res" / "quality" / "bicubic_x2_Set5.json").read_text())
    assert f"PSNR {record['psnr']:.4f} dB" in text and "Y channel, border 2, LR bicubic" in text
    # the saved SR images are the ones that were scored
    hr = modcrop(_rgb(DATASETS / "Set5" / "HR" / "baby.png"), 2)
    saved = _rgb(tmp_path / "sr" / "baby.png")
    assert abs(psnr(prepare(saved, "Y", 2), prepare(hr, "Y", 2)) - record["per_image"][0]["psnr"]) < 1e-9
    rc = cli_main(["eval", "agdn-s", "--dataset", str(DATASETS / "Set5"), "--weights-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert rc == 1 and "no_checkpoint" in captured.err
    rc = cli_main(["eval", "bicubic", "--dataset", str(DATASETS / "Set5"), "--set", "bogus=1"])
    assert rc == 2 and "model 'bicubic' has no option 'bogus'; accepted: quantize (bool" in capsys.readouterr().err
    (tmp_path / "Bad" / "HR").mkdir(parents=True)
    rc = cli_main(["eval", "bicubic", "--dataset", str(tmp_path / "Bad")])
    assert rc == 2 and "no images" in capsys.readouterr().err


# ------------------------------------------------------------------------- overhead (benchmark only)


def test_eval_overhead_set14_agdn_s(benchmark) -> None:
    """Time outside the model's forward (I/O, LR generation, metrics) < 25% of the total: AGDN-S, Set14 x4."""
    record = benchmark.pedantic(lambda: evaluate("agdn-s", 4, DATASETS / "Set14"), rounds=1, iterations=1)
    assert record.status == "ok"
    assert record.timing["overhead_fraction"] < 0.25, record.timing


@pytest.mark.parametrize("sigma, window", [(1.0, 9), (2.0, 15)])
def test_ssim_sigma_and_window_are_honoured(sigma: float, window: int) -> None:
    """A non-default Gaussian sigma gives scikit-image's SSIM with that sigma (its window: 2*int(3.5*sigma+0.5)+1)."""
    from skimage.metrics import structural_similarity

    sr, hr = _sr_pair("butterfly", 4)
    a, b = prepare(sr, "Y", 4), prepare(hr, "Y", 4)
    ref = structural_similarity(b[0].numpy(), a[0].numpy(), gaussian_weights=True, sigma=sigma,
                                use_sample_covariance=False, data_range=255)
    assert abs(ssim(a, b, window_size=window, sigma=sigma) - ref) < 1e-6
    assert abs(ssim(a, b, window_size=window, sigma=sigma) - ssim(a, b)) > 1e-4  # the default would not pass


def test_quantize_output_rounds_half_to_even_like_numpy() -> None:
    """BasicSR tensor2img / NTIRE test_demo round with numpy (half to even): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2."""
    from bench.quality import quantize_output

    out = quantize_output(torch.tensor([0.5, 1.5, 2.5, 254.5, 300.0, -3.0]), 255.0)
    assert out.tolist() == [0.0, 2.0, 2.0, 254.0, 255.0, 0.0]
    # data_range 1: scaled by 255 first (0.5/255 -> 0.5 -> 0), then the same rounding
    assert quantize_output(torch.tensor([0.5, 1.5, 2.5]) / 255.0, 1.0).tolist() == [0.0, 2.0, 2.0]
