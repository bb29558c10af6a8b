"""One rule, one place: figures keep one meaning (runtime headline, memory), shared readers and metrics."""

from __future__ import annotations

from pathlib import Path

from reports import load_results
from reports.tables import runtime_table
from tests.fakes_bench import write


def _runtime(model: str, mode: str, **fields) -> dict:
    rec = {"kind": "runtime", "model": model, "scale": 4, "device": "cpu", "mode": mode, "status": "ok",
           "input_size": None, "dataset": None, "median_ms": None, "ave_time_ms": None, "iqr_ms": None}
    rec.update(fields)
    return rec


def test_runtime_table_headline_and_best_only_among_comparable_rows(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write(root, "runtime/agdn_x4.json", _runtime("agdn", "robust", input_size=[256, 256], median_ms=10.0))
    write(root, "runtime/agdn-s_x4.json", _runtime("agdn-s", "robust", input_size=[256, 256], median_ms=20.0))
    write(root, "runtime/rlfn-ntire22_x4.json", _runtime("rlfn-ntire22", "robust", input_size=[64, 64],
                                                         median_ms=1.0))
    # NTIRE row: Ave Time 18 ms; its pooled median (if any) is never shown
    write(root, "runtime/span-ch28_x4.json", _runtime("span-ch28", "ntire", dataset="DIV2K_LSDIR_valid",
                                                      ave_time_ms=18.0, median_ms=2.0))
    t = runtime_table(load_results(root))
    rows = {r["model"]: r for r in t.rows}
    assert rows["span-ch28"]["time_ms"] == 18.0 and rows["span-ch28"]["statistic"] == "NTIRE Ave Time"
    assert rows["agdn"]["time_ms"] == 10.0 and rows["agdn"]["statistic"] == "median"
    # best/second only within (device, mode, input): 64x64 and NTIRE rows do not outrank the 256x256 ones
    ranks = {m: r["_rank"].get("time_ms") for m, r in rows.items()}
    assert ranks == {"agdn": 1, "agdn-s": 2, "rlfn-ntire22": 1, "span-ch28": 1}
    assert "after warm-up" not in t.caption.split("NTIRE rows")[1]


def test_16bit_grey_rule_is_a_named_option_of_the_one_reader(tmp_path: Path) -> None:
    import numpy as np
    import pytest

    from bench.data import ImageConversionWarning, read_image
    from tests.test_data import _write_png16

    # v:                0    511  25855  32896  65279  65535
    # round(v/257):     0      2    101    128    254    255   (paper)
    # v >> 8:           0      1    100    128    254    255   (cv2.imread 8-bit flags: libpng strip_16)
    grey16 = np.array([[0, 511, 25855, 32896, 65279, 65535]], dtype=np.uint16)
    _write_png16(tmp_path / "g.png", grey16)
    with pytest.warns(ImageConversionWarning, match=r"round\(v/257\)"):
        paper = read_image(tmp_path / "g.png")
    with pytest.warns(ImageConversionWarning, match="OpenCV"):
        opencv = read_image(tmp_path / "g.png", sixteen_bit="opencv")
    assert paper[0, :, 0].tolist() == [0, 2, 101, 128, 254, 255]
    assert opencv[0, :, 0].tolist() == [0, 1, 100, 128, 254, 255]
    assert (opencv[..., 0] == opencv[..., 2]).all() and paper.shape == (1, 6, 3)
    with pytest.raises(ValueError, match="sixteen_bit"):
        read_image(tmp_path / "g.png", sixteen_bit="v/256")


def test_weight_free_model_is_decided_once_and_runs_in_the_visual_figure(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from bench.commands.models import zoo_table
    from bench.imresize import imresize
    from bench.quality import is_weight_free, load_model
    from models import create_model
    from reports.visual import run_model, visual_comparison

    assert is_weight_free(create_model("bicubic", 4)) and not is_weight_free(create_model("agdn-s", 4))
    net, msg = load_model("bicubic", 4, weights_dir=tmp_path)  # an empty weights folder: nothing to load
    assert net is not None and msg == ""
    rows = {r["name"]: r for r in zoo_table(str(tmp_path))}
    assert rows["bicubic"]["weight_free"] and not rows["agdn"]["weight_free"]
    # the zoo's bicubic model through the figure path equals the figure's MATLAB-bicubic panel exactly
    rng = np.random.default_rng(0)
    hr = (rng.random((48, 40, 3)) * 255).astype(np.uint8)
    (tmp_path / "ds" / "HR").mkdir(parents=True)
    Image.fromarray(hr).save(tmp_path / "ds" / "HR" / "img1.png")
    lr = np.asarray(imresize(hr, 0.25))
    assert np.array_equal(run_model("bicubic", 4, lr, weights_dir=str(tmp_path)), np.asarray(imresize(lr, 4.0)))
    res = visual_comparison(["bicubic"], tmp_path / "ds", "img1", 4, weights_dir=str(tmp_path))
    assert [p.title for p in res.panels] == ["HR", "Bicubic", "Bicubic"] and not res.notes
    assert res.panels[2].psnr == res.panels[1].psnr and res.panels[2].ssim == res.panels[1].ssim


def test_ntire_hook_counter_hand_counted() -> None:
    """NTIRE 2022/23 hook counter on a tiny net, every figure counted by hand (1x3x16x16 input)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from bench.complexity.ntire import NtireCounter

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Conv2d(3, 8, 3, padding=1)
            self.act = nn.LeakyReLU(0.1)
            self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=2), nn.BatchNorm2d(8), nn.PReLU())
            self.up = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)
            self.tail = nn.Linear(32, 5)
            self.w = nn.Parameter(torch.zeros(3, 3, 1, 1))

        def forward(self, x):
            y = self.body(self.body(self.act(self.head(x))))  # body called twice: counted twice
            y = F.gelu(F.conv2d(self.up(y), self.w))  # functional conv and GELU: 0
            return self.tail(torch.sigmoid(y))

    with torch.no_grad(), NtireCounter(Net().eval()) as c:
        Net.forward(c.model, torch.rand(1, 3, 16, 16))
    n = c.counts
    # head: 3x3 kernel * 3 in * 8 out * 16*16 = 55,296; LeakyReLU: 8*16*16 = 2,048
    # body (x2): grouped conv 9 * 8 * (8/2) * 256 = 73,728; affine BN 2 * 8 * 256 = 4,096; PReLU 2,048
    # up: transposed 4x4, 8 in, 3 out, output 32x32: 16 * 8 * 3 * 1,024 = 393,216
    # tail: the official Linear rule batch * in.shape[1] * out.shape[1] = 1 * 3 * 3 = 9 (token axis ignored)
    assert n.flops_by_module == {"head": 55_296, "act": 2_048, "body": 2 * (73_728 + 4_096 + 2_048), "up": 393_216,
                                 "tail": 9}
    assert n.flops == 55_296 + 2_048 + 159_744 + 393_216 + 9 == 610_313
    assert n.conv_flops == 55_296 + 2 * 73_728 + 393_216 == 595_968
    # activations: conv outputs 8*256 (head) + 2 * 8*256 (body) + 3*1,024 (up); convs: 4 calls
    assert n.activations == 2_048 + 4_096 + 3_072 == 9_216 and n.convs == 4
    assert n.activations_by_module == {"head": 2_048, "body": 4_096, "up": 3_072}
    assert n.convs_by_module == {"head": 1, "body": 2, "up": 1}
    bn_plain = nn.BatchNorm2d(8, affine=False)
    with NtireCounter(bn_plain) as c2:
        bn_plain(torch.rand(2, 8, 4, 4))
    assert c2.counts.flops == 2 * 8 * 16  # not affine: one op per element; batch 2 counted
    assert c2.counts.flops_by_module == {"(root)": 256}  # the model itself is the hooked module
    conv = nn.Conv2d(4, 6, 1, groups=2)
    with NtireCounter(conv) as c4:
        conv(torch.rand(3, 4, 5, 5))
    assert c4.counts.flops == 1 * 4 * (6 // 2) * 3 * 25 == 900  # batch 3 multiplies
    lin = nn.Linear(6, 4)
    with NtireCounter(lin) as c3:
        lin(torch.rand(6))
    assert c3.counts.flops == 6 * 4 and c3.counts.convs == 0  # 1-D input: in.shape[0] * out.shape[0]
    assert not lin._forward_hooks and not bn_plain._forward_hooks  # hooks removed on exit


def test_read_image_every_pil_mode_gives_the_rgb_pil_would(tmp_path: Path) -> None:
    """Each decoded mode ends as the 8-bit RGB that Pillow's own conversion gives (alpha only when opaque)."""
    import warnings

    import numpy as np
    import pytest
    from PIL import Image

    from bench.data import DatasetError, ImageConversionWarning, read_image

    rng = np.random.default_rng(3)
    rgb = Image.fromarray((rng.random((6, 5, 3)) * 255).astype(np.uint8))
    grey = rgb.convert("L")
    cases = {
        "1.png": rgb.convert("1"), "L.png": grey, "P.png": rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=5),
        "CMYK.tif": rgb.convert("CMYK"), "RGB.png": rgb,
    }
    for name, im in cases.items():
        im.save(tmp_path / name)
        with Image.open(tmp_path / name) as back:
            assert back.mode == name.split(".")[0]
            want = np.asarray(back.convert("RGB"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no conversion worth a warning
            got = read_image(tmp_path / name)
        assert got.dtype == np.uint8 and got.shape == (6, 5, 3) and np.array_equal(got, want), name
        assert got.flags["C_CONTIGUOUS"] and got.flags["WRITEABLE"]
    # opaque alpha (RGBA, LA, palette with an unused transparent index) is dropped with a warning
    opaque = {"RGBA.png": rgb.convert("RGBA"), "LA.png": grey.convert("LA")}
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=5)
    pal.info["transparency"] = 7  # index 7 is not used by a 5-colour palette image
    pal.save(tmp_path / "Ptrns.png", transparency=7)
    for name, im in opaque.items():
        im.save(tmp_path / name)
    for name in [*opaque, "Ptrns.png"]:
        with Image.open(tmp_path / name) as back:
            want = np.asarray(back.convert("RGB"))
        with pytest.warns(ImageConversionWarning, match="opaque alpha"):
            got = read_image(tmp_path / name)
        assert np.array_equal(got, want), name
    # transparency used: refused, never composited silently
    la = np.dstack([np.asarray(grey), np.full((6, 5), 255, np.uint8)])
    la[0, 0, 1] = 254
    Image.fromarray(la, "LA").save(tmp_path / "LAt.png")
    pal.save(tmp_path / "Pt.png", transparency=int(np.asarray(pal)[0, 0]))
    for name in ("LAt.png", "Pt.png"):
        with pytest.raises(DatasetError, match="transparent pixels"):
            read_image(tmp_path / name)
    # 32-bit integer images have no 8-bit reading: refused
    Image.fromarray(rng.integers(0, 2**20, (4, 4)).astype(np.int32), "I").save(tmp_path / "I32.tif")
    with pytest.raises(DatasetError, match="unsupported image mode 'I'"):
        read_image(tmp_path / "I32.tif")


def test_imresize_torch_downscale_matches_numpy_matlab_on_uint8() -> None:
    """The torch MATLAB bicubic (antialiased downscale, uint8 passes) equals the numpy one, any data_range."""
    import numpy as np
    import torch

    from bench.imresize import imresize, imresize_torch

    rng = np.random.default_rng(5)
    img = (rng.random((13, 18, 3)) * 255).astype(np.uint8)
    assert imresize(img, 0.5).dtype == np.uint8  # uint8 in, uint8 out (MATLAB)
    ref = np.asarray(imresize(img, 0.5)).astype(np.float64)  # MATLAB imresize(uint8, 0.5): antialiased
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    one = imresize_torch(x / 255.0, 0.5, quantize=True)  # default data_range 1.0
    full = imresize_torch(x, 0.5, quantize=True, data_range=255.0)
    assert one.dtype == torch.float32 and one.shape == (1, 3, 7, 9)
    assert torch.equal((one[0] * 255.0).round().double().permute(1, 2, 0), torch.from_numpy(ref))
    assert torch.equal(full[0].double().permute(1, 2, 0), torch.from_numpy(ref))
    # without antialiasing the taps differ (MATLAB 'Antialiasing', false)
    plain = imresize_torch(x, 0.5, quantize=True, data_range=255.0, antialias=False)
    ref_plain = np.asarray(imresize(img, 0.5, antialias=False)).astype(np.float64)
    assert torch.equal(plain[0].double().permute(1, 2, 0), torch.from_numpy(ref_plain))
    assert not np.array_equal(ref_plain, ref)


def test_lr_width_mismatch_on_a_non_square_image_is_refused(tmp_path: Path) -> None:
    import numpy as np
    import pytest
    from PIL import Image

    from bench.data import DatasetError, resolve_dataset

    (tmp_path / "HR").mkdir()
    (tmp_path / "LR_bicubic" / "X4").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(tmp_path / "HR" / "a.png")  # H 8, W 12
    Image.fromarray(np.zeros((2, 4, 3), np.uint8)).save(tmp_path / "LR_bicubic" / "X4" / "ax4.png")  # W 4, not 3
    with pytest.raises(DatasetError, match="ax4.png"):
        resolve_dataset(tmp_path).pairs(4)
    Image.fromarray(np.zeros((2, 3, 3), np.uint8)).save(tmp_path / "LR_bicubic" / "X4" / "ax4.png")
    (pair,) = resolve_dataset(tmp_path).pairs(4)
    assert pair.lr is not None and pair.lr.name == "ax4.png"


def test_metrics_shapes_borders_and_window_edges() -> None:
    """Input layouts, border edge cases and the SSIM window as the paper protocol needs them."""
    import numpy as np
    import pytest
    import torch

    from bench.metrics import crop_border, gaussian_kernel_1d, gaussian_window, prepare, psnr, ssim, to_chw_float64

    hwc = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert torch.equal(to_chw_float64(hwc), torch.from_numpy(hwc).permute(2, 0, 1).double())
    hw = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert to_chw_float64(hw).shape == (1, 2, 3) and to_chw_float64(torch.from_numpy(hw)).shape == (1, 2, 3)
    chw = torch.arange(18.0).reshape(3, 2, 3)
    assert torch.equal(to_chw_float64(chw[None]), chw.double()) and to_chw_float64(chw).dtype == torch.float64
    with pytest.raises(ValueError, match="batch of 2"):
        to_chw_float64(torch.zeros(2, 3, 4, 4))
    t = torch.arange(100.0).reshape(1, 10, 10)
    assert torch.equal(crop_border(t, 0), t) and torch.equal(crop_border(t, 1), t[:, 1:9, 1:9])
    assert crop_border(t, 4).shape == (1, 2, 2)  # 2 * 4 < 10: something is left
    with pytest.raises(ValueError):
        crop_border(t, 5)
    grey = torch.full((1, 12, 12), 7.0)
    assert torch.equal(prepare(grey, "Y", 1), grey[:, 1:11, 1:11])  # one channel: already luma
    with pytest.raises(ValueError, match="2-channel"):
        prepare(torch.zeros(2, 12, 12), "Y", 0)
    # cv2.getGaussianKernel(11, 1.5), the window of the paper/BasicSR SSIM
    g = gaussian_kernel_1d()
    assert g.tolist()[:6] == pytest.approx([0.00102838, 0.00759876, 0.03600077, 0.10936069, 0.21300554, 0.26601172],
                                           abs=1e-8)
    assert torch.allclose(gaussian_window(), torch.outer(g, g)) and gaussian_window().shape == (11, 11)
    # another sigma: cv2.getGaussianKernel(5, 1.0) = [0.05448868, 0.24420134, 0.40261995, 0.24420134, 0.05448868]
    g1 = torch.tensor([0.05448868, 0.24420134, 0.40261995, 0.24420134, 0.05448868], dtype=torch.float64)
    assert torch.allclose(gaussian_window(5, 1.0), torch.outer(g1, g1), atol=1e-8)
    rng = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (1, 11, 11), generator=rng).double()
    b = (a + torch.randint(-3, 4, (1, 11, 11), generator=rng)).clamp(0, 255)
    assert 0.9 < ssim(a, b) < 1.0  # an 11x11 image has exactly one window
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.zeros(1, 8, 20), torch.zeros(1, 8, 20))
    # SSIM of several channels is the mean over channels; PSNR is 10 log10(255^2 / MSE)
    two = torch.stack([a[0], a[0]]), torch.stack([b[0], a[0]])
    assert ssim(*two) == pytest.approx((ssim(a, b) + 1.0) / 2, abs=1e-12)
    assert psnr(torch.zeros(1, 2, 2), torch.full((1, 2, 2), 255.0)) == 0.0


def test_challenge_lr_stem_ambiguity_is_refused(tmp_path):
    """``<stem>x4.png`` and ``<stem>.png`` both present: refused, naming both (never read silently).

    The challenge's split is bench.data's NTIRE split (one rule, one place), read under the official
    ``*.png`` rule: ``find_split`` gives what :func:`bench.data.ntire_split` pairs.
    """
    import numpy as np
    import pytest
    from PIL import Image

    from bench.data import DatasetError, ntire_split
    from challenge.evaluate import find_split

    layout = ("DIV2K_LSDIR_valid_HR", "DIV2K_LSDIR_valid_LR")
    hr_dir, lr_dir = tmp_path / "LSDIR_DIV2K_valid_HR", tmp_path / "LSDIR_DIV2K_valid_LR"  # the alias spelling
    hr_dir.mkdir()
    lr_dir.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(hr_dir / "0801.png")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(lr_dir / "0801x4.png")
    assert [(p.name, p.hr, p.lr) for p in find_split(tmp_path, layout)] == [
        (p.name, p.hr, p.lr) for p in ntire_split(tmp_path, *layout, image_files="png").pairs(4, lr_source="files")
    ] == [("0801", hr_dir / "0801.png", lr_dir / "0801x4.png")]
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(lr_dir / "0801.png")
    with pytest.raises(DatasetError, match=r"2 LR files for 0801.png \(0801x4.png, 0801.png\)"):
        find_split(tmp_path, layout)


def test_challenge_split_is_read_by_the_official_png_rule(tmp_path):
    """The challenge reads ``<split>_HR/*.png`` as the official test_demo.py globs; bench's own reading takes
    every image extension. A missing LR file stops the evaluation as ``dataset-missing``, naming it."""
    import numpy as np
    import pytest
    from PIL import Image

    from bench.data import resolve_dataset
    from challenge.evaluate import evaluate_submission, find_split

    layout = ("DIV2K_valid_HR", "DIV2K_valid_LR")
    hr_dir, lr_dir = tmp_path / layout[0], tmp_path / layout[1]
    hr_dir.mkdir()
    lr_dir.mkdir()
    for name in ("0801.png", "0802.jpg", "0803.PNG"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(hr_dir / name, format="PNG")
        Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(lr_dir / name.replace(".", "x4."), format="PNG")
    assert [p.name for p in find_split(tmp_path, layout)] == ["0801"]
    assert [p.name for p in resolve_dataset(tmp_path).pairs(4)] == ["0801", "0802", "0803"]

    class Stop(Exception):
        pass

    class Checks:
        def __init__(self):
            self.findings = []

        def add(self, code, severity, message, stop=False):
            self.findings.append((code, severity, message))
            if stop:
                raise Stop

    (lr_dir / "0801x4.png").unlink()
    c = Checks()
    with pytest.raises(Stop):
        evaluate_submission(c, None, {"data_range": 1.0}, {"year": 2022, "data": str(tmp_path)})
    ((code, severity, message),) = c.findings
    assert (code, severity) == ("dataset-missing", "error")
    assert f"missing LR for 0801.png: expected {lr_dir / '0801x4.png'}" in message
    c = Checks()
    with pytest.raises(Stop):
        evaluate_submission(c, None, {"data_range": 1.0}, {"year": 2022, "data": str(tmp_path / "none")})
    assert [f[0] for f in c.findings] == ["dataset-missing"] and "has neither" in c.findings[0][2]
