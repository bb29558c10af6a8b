"""Datasets: layouts and names, image reading conversions, up-front pairing checks."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data import (
    DatasetError,
    ImageConversionWarning,
    list_datasets,
    make_lr,
    modcrop,
    read_image,
    resolve_dataset,
)
from bench.quality import evaluate
from tests.conftest import SHARED

DATASETS = SHARED / "datasets"


def _save(arr: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _small_benchmark(tmp: Path, name: str = "Set5", scale: int = 2) -> Path:
    """A copy of three Set5 images (HR + LR_bicubic/X<scale>) under tmp/name."""
    root = tmp / name
    for stem in ("baby", "bird", "head"):
        (root / "HR").mkdir(parents=True, exist_ok=True)
        shutil.copy(DATASETS / "Set5" / "HR" / f"{stem}.png", root / "HR")
        lr_dir = root / "LR_bicubic" / f"X{scale}"
        lr_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATASETS / "Set5" / "LR_bicubic" / f"X{scale}" / f"{stem}x{scale}.png", lr_dir)
    return root


# ---------------------------------------------------------------------------------------- layouts


def test_benchmark_layout_from_path() -> None:
    set5 = resolve_dataset(DATASETS / "Set5")
    assert (set5.name, set5.layout) == ("Set5", "benchmark")
    assert sorted(set5.lr_dirs) == [2, 3, 4]
    pairs = set5.pairs(3)
    assert [p.name for p in pairs] == ["baby", "bird", "butterfly", "head", "woman"]
    assert all(p.lr is not None and p.lr.name == f"{p.name}x3.png" for p in pairs)
    set14 = resolve_dataset(str(DATASETS / "Set14"))
    assert set14.name == "Set14" and set14.lr_dirs == {}
    pairs14 = set14.pairs(4)  # auto: no LR folder -> bicubic
    assert len(pairs14) == 14 and all(p.lr is None for p in pairs14)
    with pytest.raises(DatasetError, match="no LR folder for x4"):
        set14.pairs(4, "files")
    assert all(p.lr is None for p in set5.pairs(2, "bicubic"))


def test_names_and_aliases_under_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_benchmark(tmp_path, "BSDS100")
    _small_benchmark(tmp_path, "set5")
    monkeypatch.setenv("ESR_BENCH_DATA", str(tmp_path))
    b100 = resolve_dataset("B100")
    assert b100.name == "B100" and b100.path.name == "BSDS100"
    assert resolve_dataset("BSD100").path == b100.path
    set5 = resolve_dataset("Set5")
    assert set5.name == "Set5" and len(set5.pairs(2)) == 3
    names = [d.name for d in list_datasets()]
    assert names == ["B100", "Set5", "samples"]
    with pytest.raises(DatasetError, match="not found"):
        resolve_dataset("Urban100")
    monkeypatch.delenv("ESR_BENCH_DATA")
    with pytest.raises(DatasetError, match="ESR_BENCH_DATA"):
        resolve_dataset("Manga109")


def test_samples_dataset_is_bundled() -> None:
    ds = resolve_dataset("samples")
    pairs = ds.pairs(4)
    assert [p.name for p in pairs] == ["astronaut", "chelsea", "coffee", "rocket", "motorcycle_left"]
    assert all(p.lr is None for p in pairs)
    img = read_image(pairs[1].hr)
    assert img.shape == (300, 451, 3) and img.dtype == np.uint8
    assert make_lr(img, 4).shape == (75, 112, 3)


@pytest.mark.parametrize(
    "hr_name, lr_name, lr_file",
    [
        ("DIV2K_LSDIR_valid_HR", "DIV2K_LSDIR_valid_LR", "{stem}x4.png"),
        ("LSDIR_DIV2K_valid_HR", "LSDIR_DIV2K_valid_LR", "{stem}x4.png"),
        ("DIV2K_valid_HR", "DIV2K_valid_LR", "{stem}x4.png"),
        ("DIV2K_test_HR", "DIV2K_test_LR", "{stem}.png"),  # NTIRE 2022 test LR: no x4 suffix
        ("DIV2K_valid_HR", "DIV2K_valid_LR_bicubic/X4", "{stem}x4.png"),
    ],
)
def test_ntire_layouts(tmp_path: Path, hr_name: str, lr_name: str, lr_file: str) -> None:
    for stem in ("comic", "face"):
        hr = modcrop(read_image(DATASETS / "Set14" / "HR" / f"{stem}.png"), 4)
        _save(hr, tmp_path / hr_name / f"{stem}.png")
        _save(make_lr(hr, 4), tmp_path / lr_name / lr_file.format(stem=stem))
    for target in (tmp_path, tmp_path / hr_name):
        ds = resolve_dataset(target)
        assert ds.layout == "ntire" and ds.name == hr_name[: -len("_HR")]
        pairs = ds.pairs(4)
        assert [(p.name, p.lr.name) for p in pairs] == [(s, lr_file.format(stem=s)) for s in ("comic", "face")]
    with pytest.raises(DatasetError, match="x4 set"):
        resolve_dataset(tmp_path).pairs(2)


def test_ntire_prefers_valid_split(tmp_path: Path) -> None:
    img = np.zeros((16, 16, 3), np.uint8)
    for split in ("test", "valid"):
        _save(img, tmp_path / f"DIV2K_LSDIR_{split}_HR" / "0001.png")
        _save(img[:4, :4], tmp_path / f"DIV2K_LSDIR_{split}_LR" / "0001x4.png")
    assert resolve_dataset(tmp_path).name == "DIV2K_LSDIR_valid"
    assert resolve_dataset(tmp_path, split="test").name == "DIV2K_LSDIR_test"


# ------------------------------------------------------------------------------------------ images


def test_grayscale_becomes_three_channels() -> None:
    bridge = DATASETS / "Set14" / "HR" / "bridge.png"
    assert Image.open(bridge).mode == "L"
    img = read_image(bridge)
    grey = np.array(Image.open(bridge))
    assert img.shape == (*grey.shape, 3)
    assert all(np.array_equal(img[..., c], grey) for c in range(3))


def test_rgba_opaque_converted_with_warning_transparent_refused(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    alpha = np.full((8, 10, 1), 255, np.uint8)
    opaque = _save(np.concatenate([rgb, alpha], axis=2), tmp_path / "opaque.png")
    with pytest.warns(ImageConversionWarning, match="alpha"):
        got = read_image(opaque)
    assert np.array_equal(got, rgb)
    alpha[2, 3] = 10
    transparent = _save(np.concatenate([rgb, alpha], axis=2), tmp_path / "transparent.png")
    with pytest.raises(DatasetError, match="transparent"):
        read_image(transparent)
    (tmp_path / "HR").mkdir()
    shutil.move(transparent, tmp_path / "HR")
    shutil.move(opaque, tmp_path / "HR")
    with pytest.raises(DatasetError, match=r"1 problem(?s:.*)HR/transparent.png: image has transparent pixels"):
        resolve_dataset(tmp_path).pairs(2)  # found by the up-front check, before any model runs


def _write_png16(path: Path, arr: np.ndarray) -> None:
    """Minimal 16-bit PNG writer (grey or RGB), independent of the reader under test."""
    import struct
    import zlib

    h, w = arr.shape[:2]
    color_type = 2 if arr.ndim == 3 else 0
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in arr)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def test_16bit_grey_converted_with_warning_colour_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    grey16 = rng.integers(0, 65536, (6, 7), dtype=np.uint16)
    grey16[0, :4] = (128, 129, 385, 32896)  # /257: 0.498 -> 0, 0.502 -> 1, 1.498 -> 1, 128.0 -> 128
    _write_png16(tmp_path / "grey16.png", grey16)
    with pytest.warns(ImageConversionWarning, match="16-bit"):
        got = read_image(tmp_path / "grey16.png")
    expected = np.floor(grey16 / 257.0 + 0.5).astype(np.uint8)
    assert got.shape == (6, 7, 3) and all(np.array_equal(got[..., c], expected) for c in range(3))
    assert got[0, :4, 0].tolist() == [0, 1, 1, 128]
    # 16-bit colour: Pillow would keep only the high byte, so it is refused, also by the up-front check
    (tmp_path / "HR").mkdir()
    _write_png16(tmp_path / "HR" / "rgb16.png", np.stack([grey16] * 3, axis=2))
    with pytest.raises(DatasetError, match="16-bit colour PNG is not supported"):
        read_image(tmp_path / "HR" / "rgb16.png")
    with pytest.raises(DatasetError, match="rgb16.png: 16-bit colour"):
        resolve_dataset(tmp_path).pairs(2)


def test_plain_rgb_reads_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = read_image(DATASETS / "Set5" / "HR" / "bird.png")
    assert img.shape == (288, 288, 3) and img.flags.writeable


# ------------------------------------------------------------------------------------- bad datasets


def _evaluate_must_fail(root: Path, match: str, **kwargs) -> str:
    import torch

    class Net(torch.nn.Module):
        data_range = 1.0

        def forward(self, x):  # pragma: no cover - reaching this is the failure
            raise AssertionError("model ran on a bad dataset")

    with pytest.raises(DatasetError, match=match) as info:
        evaluate(Net(), 2, root, **kwargs)
    return str(info.value)


def test_bad_dataset_lists_every_offending_file(tmp_path: Path) -> None:
    root = _small_benchmark(tmp_path)
    lr_dir = root / "LR_bicubic" / "X2"
    (lr_dir / "birdx2.png").unlink()  # missing pair
    _save(np.zeros((10, 10, 3), np.uint8), lr_dir / "headx2.png")  # wrong LR size
    for broken in (root / "HR" / "zz_broken.png", lr_dir / "zz_brokenx2.png"):  # unreadable
        broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    message = _evaluate_must_fail(root, "3 problem")
    assert "missing LR for bird.png" in message and str(lr_dir / "birdx2.png") in message
    assert "headx2.png: LR is 10x10 (HxW) but HR head.png is 280x280; x2 needs 140x140" in message
    assert "zz_broken.png: unreadable image" in message
    assert "baby" not in message


def test_truncated_image_is_unreadable(tmp_path: Path) -> None:
    root = _small_benchmark(tmp_path)
    data = (root / "HR" / "bird.png").read_bytes()
    (root / "HR" / "bird.png").write_bytes(data[: len(data) // 2])
    message = _evaluate_must_fail(root, "1 problem")
    assert "bird.png: unreadable image" in message


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    (tmp_path / "Empty" / "HR").mkdir(parents=True)
    _evaluate_must_fail(tmp_path / "Empty", "no images")
    with pytest.raises(DatasetError, match="does not exist"):
        resolve_dataset(tmp_path / "nope")
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="not a dataset"):
        resolve_dataset(tmp_path / "stuff")


def test_ntire_missing_lr_reported(tmp_path: Path) -> None:
    img = np.zeros((16, 16, 3), np.uint8)
    for stem in ("0801", "0802"):
        _save(img, tmp_path / "DIV2K_valid_HR" / f"{stem}.png")
    _save(img[:4, :4], tmp_path / "DIV2K_valid_LR" / "0801x4.png")
    with pytest.raises(DatasetError, match="missing LR for 0802.png"):
        resolve_dataset(tmp_path).pairs(4)
