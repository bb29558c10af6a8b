"""Bad input ends in one actionable line and exit code 2, never a traceback (issue 12, item 5-6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import bench.cli
import bench.data
import bench.errors
import bench.quality
from bench.cli import main as cli_main
from bench.data import DatasetError, resolve_dataset
from challenge.manifest import ManifestError, load_manifest


def _img(path: Path, h: int, w: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def _no_model_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a, **k):
        raise AssertionError("the model was loaded: the error was not caught up front")

    monkeypatch.setattr(bench.quality, "load_model", fail)


def test_one_error_type() -> None:
    assert bench.cli.UserError is bench.errors.UserError
    assert issubclass(DatasetError, bench.errors.UserError) and issubclass(ManifestError, bench.errors.UserError)
    assert bench.data.UserError is bench.errors.UserError


@pytest.mark.parametrize("device, message", [
    ("foo", "--device foo: not a device; use cpu, cuda, cuda:N"),
    ("cuda", "--device cuda: CUDA is not available in this torch"),
    ("cuda:0", "--device cuda:0: CUDA is not available"),
    ("meta", "device type 'meta' is not supported"),
])
def test_eval_bad_device(device: str, message: str, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only torch, also on a GPU machine
    _no_model_run(monkeypatch)
    assert cli_main(["eval", "bicubic", "--dataset", "samples", "--device", device]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_figure_bad_device(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["figure", "visual", "--models", "bicubic", "--dataset", "samples", "--image", "coffee",
                     "--device", "foo"]) == 2
    assert "--device foo: not a device" in capsys.readouterr().err


def test_bench_runtime_size_zero_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "results"
    assert cli_main(["bench", "--models", "bicubic", "--runtime-size", "0", "0", "--out", str(out)]) == 2
    assert "--runtime-size 0 0: height and width must be positive" in capsys.readouterr().err
    assert not out.exists()  # refused before any record was written
    assert cli_main(["bench", "--models", "bicubic", "--device", "foo", "--out", str(out)]) == 2
    assert "--device foo: not a device" in capsys.readouterr().err


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(bench.errors.UserError, match="not a device"):
        cli_main(["--debug", "eval", "bicubic", "--dataset", "samples", "--device", "foo"])

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(bench.quality, "evaluate", boom)
    # an unexpected exception: one line, exit code 1, no traceback ...
    assert cli_main(["eval", "bicubic", "--dataset", "samples"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(RuntimeError, match="boom"):  # ... and the traceback with --debug
        cli_main(["--debug", "eval", "bicubic", "--dataset", "samples"])


# ------------------------------------------------------------------------------------- datasets


def test_tiny_image_caught_up_front_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    _img(tmp_path / "D" / "HR" / "ok.png", 48, 48)
    tiny = _img(tmp_path / "D" / "HR" / "tiny.png", 12, 12)
    _no_model_run(monkeypatch)
    assert cli_main(["eval", "bicubic", "--scale", "4", "--dataset", str(tmp_path / "D")]) == 2
    err = capsys.readouterr().err
    # x4 paper protocol: 4 border pixels on each side + the 11x11 SSIM window = 19 pixels
    assert f"{tiny}: 12x12 (HxW; 12x12 after modcrop to x4) is too small: at least 19x19 needed" in err
    assert "border 4 on each side and the 11x11 SSIM window" in err and "ok.png" not in err
    # ntire protocol, no SSIM: 2 * 4 + 1 = 9 pixels are enough for a PSNR
    ds = resolve_dataset(tmp_path / "D")
    assert len(ds.pairs(4, min_side=9)) == 2
    with pytest.raises(DatasetError, match="at least 20x20 needed"):
        ds.pairs(4, min_side=20)


def test_duplicate_stems_refused_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    _img(tmp_path / "D" / "HR" / "a.png", 32, 32)
    _img(tmp_path / "D" / "HR" / "a.jpg", 32, 32)
    _img(tmp_path / "D" / "HR" / "b.png", 32, 32)
    _no_model_run(monkeypatch)
    assert cli_main(["eval", "bicubic", "--scale", "2", "--dataset", str(tmp_path / "D")]) == 2
    err = capsys.readouterr().err
    assert "2 images named 'a' (a.jpg, a.png)" in err


def test_two_lr_files_for_one_image_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    _img(tmp_path / "D" / "HR" / "a.png", 32, 32)
    _img(tmp_path / "D" / "LR_bicubic" / "X2" / "ax2.png", 16, 16)
    _img(tmp_path / "D" / "LR_bicubic" / "X2" / "ax2.jpg", 16, 16)
    _no_model_run(monkeypatch)
    for lr in ("files", "auto"):
        assert cli_main(["eval", "bicubic", "--scale", "2", "--dataset", str(tmp_path / "D"), "--lr", lr]) == 2
        assert "2 LR files for a.png (ax2.jpg, ax2.png); keep only the one" in capsys.readouterr().err
    # one file: that one is read
    (tmp_path / "D" / "LR_bicubic" / "X2" / "ax2.jpg").unlink()
    pairs = resolve_dataset(tmp_path / "D").pairs(2, "files")
    assert [p.lr.name for p in pairs] == ["ax2.png"]


# ------------------------------------------------------------------------------------- manifests


def _manifest(tmp_path: Path, text: str | bytes, name: str = "submission.toml") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


_TEAM = 'id = "07"\nname = "Tiny"\nclass = "Tiny"\n'


@pytest.mark.parametrize("text, message", [
    (b'id = "07"\nname = "T\xe9st"\nclass = "T"\n', "not UTF-8 text (byte 19); save the manifest as UTF-8"),
    (_TEAM + 'scale = "four"\n', "scale must be an integer, got 'four'"),
    (_TEAM + "scale = true\n", "scale must be an integer, got True"),
    (_TEAM + 'tile = "big"\n', "tile must be an integer >= 0, got 'big'"),
    (_TEAM + "tile = -8\n", "tile must be an integer >= 0, got -8"),
    ('year = "2024x"\n[[team]]\n' + _TEAM, "year must be an integer, got '2024x'"),
    ("year = 2024.5\n[[team]]\n" + _TEAM, "year must be an integer, got 2024.5"),
])
def test_bad_manifest_values(tmp_path: Path, text: str | bytes, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(_manifest(tmp_path, text))
    assert message in str(info.value) and str(tmp_path) in str(info.value)


def test_good_manifest_numbers(tmp_path: Path) -> None:
    m = load_manifest(_manifest(tmp_path, "year = 2024\n[[team]]\n" + _TEAM + "tile = 256\nscale = 4\n"))
    assert m.year == 2024 and m.teams[0].tile == 256 and m.teams[0].scale == 4


def test_bad_manifest_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _manifest(tmp_path, b"id = 1\nname = '\xff'\n")
    assert cli_main(["challenge", "validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and "Traceback" not in err


def test_json_error_output_stays_clean(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A user error with --json prints nothing on stdout (no half JSON)."""
    assert cli_main(["eval", "bicubic", "--dataset", str(tmp_path / "none"), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "does not exist" in captured.err
    with pytest.raises(json.JSONDecodeError):
        json.loads(captured.out)


def test_unsupported_scales_refused(capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["eval", "bicubic", "--scale", "0", "--dataset", "samples"]) == 2  # was a ZeroDivisionError
    assert "model 'bicubic' supports scales [2, 3, 4], not x0" in capsys.readouterr().err
    assert cli_main(["complexity", "--all", "--scale", "7", "--json"]) == 2  # was an empty list, exit 0
    assert "no zoo model supports x7" in capsys.readouterr().err
