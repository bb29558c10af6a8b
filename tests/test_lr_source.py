"""LR source under the paper protocol (issue 12, item 3): the exact bicubic by default, LR files checked.

A tiny dataset whose LR files differ from MATLAB's bicubic the way the SelfExSR-made B100/Urban100
folders do (~1% of values off by up to 10): ``--lr auto`` scores the exact bicubic and reports the
difference; ``--lr files`` scores the files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.cli import build_parser
from bench.cli import main as cli_main
from bench.data import make_lr, read_image
from bench.metrics import prepare, psnr
from bench.quality import evaluate
from models import create_model
from tests.conftest import SHARED

SCALE = 4


def _smooth(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A photo-like image: low-frequency colour field plus mild noise, uint8 HxWx3."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in range(3)], axis=-1)
    img = 128 + 90 * base + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[int, int]]]:
    """Tiny/HR/*.png + Tiny/LR_bicubic/X4/<stem>x4.png: exact bicubic with ~1% of values moved by 1..10."""
    root = tmp_path_factory.mktemp("lr") / "Tiny"
    rng = np.random.default_rng(12)
    changed: dict[str, tuple[int, int]] = {}
    for i, (h, w) in enumerate([(64, 80), (72, 56), (60, 60)]):
        hr = _smooth(h, w, rng)
        (root / "HR").mkdir(parents=True, exist_ok=True)
        Image.fromarray(hr).save(root / "HR" / f"im{i}.png")
        exact = make_lr(hr, SCALE)
        flat = exact.astype(np.int16).flatten()
        idx = rng.choice(flat.size, size=max(1, flat.size // 100), replace=False)
        flat[idx] += rng.integers(1, 11, idx.size) * rng.choice([-1, 1], idx.size)
        bad = np.clip(flat, 0, 255).astype(np.uint8).reshape(exact.shape)
        diff = np.abs(bad.astype(np.int16) - make_lr(hr, SCALE).astype(np.int16))
        changed[f"im{i}"] = (int(np.count_nonzero(diff)), int(diff.max()))
        (root / "LR_bicubic" / "X4").mkdir(parents=True, exist_ok=True)
        Image.fromarray(bad).save(root / "LR_bicubic" / "X4" / f"im{i}x4.png")
    return root, changed


def _psnr_from(lr_of, root: Path) -> float:
    """Independent paper-protocol PSNR of the bicubic model: MATLAB bicubic up, uint8, Y, border 4."""
    net = create_model("bicubic", SCALE)
    vals = []
    for hr_path in sorted((root / "HR").glob("*.png")):
        hr = read_image(hr_path)
        x = torch.from_numpy(lr_of(hr_path, hr)).permute(2, 0, 1)[None].float() / 255
        sr = torch.round(net(x)[0].clamp(0, 1) * 255)
        vals.append(psnr(prepare(sr, "Y", SCALE), prepare(hr, "Y", SCALE)))
    return float(np.mean(vals))


def test_auto_is_the_exact_bicubic_and_reports_the_files(tiny) -> None:
    root, changed = tiny
    auto = evaluate("bicubic", SCALE, root)  # lr_source="auto", paper protocol
    exact = evaluate("bicubic", SCALE, root, lr_source="bicubic")
    files = evaluate("bicubic", SCALE, root, lr_source="files")
    assert auto.status == exact.status == files.status == "ok"
    assert auto.psnr == exact.psnr and auto.ssim == exact.ssim
    assert auto.protocol["lr_source"] == "bicubic" and files.protocol["lr_source"] == "files"
    expected_exact = _psnr_from(lambda p, hr: make_lr(hr, SCALE), root)
    expected_files = _psnr_from(lambda p, hr: read_image(root / "LR_bicubic" / "X4" / f"{p.stem}x4.png"), root)
    assert auto.psnr == pytest.approx(expected_exact, abs=1e-9)
    assert files.psnr == pytest.approx(expected_files, abs=1e-9)
    assert abs(files.psnr - auto.psnr) > 1e-3  # the perturbed files really give another number
    check = auto.lr_check
    n_values = sum(int(np.prod(read_image(p).shape)) for p in (root / "LR_bicubic" / "X4").glob("*.png"))
    assert check["images"] == 3 and check["images_differing"] == 3 and check["values"] == n_values
    assert check["values_differing"] == sum(n for n, _ in changed.values())
    assert check["max_abs_diff"] == max(m for _, m in changed.values()) <= 10
    assert 0.005 < check["values_differing"] / check["values"] < 0.011
    assert {r["name"]: (r["values_differing"], r["max_abs_diff"]) for r in check["per_image"]} == changed
    assert any("are not the MATLAB-exact bicubic" in n for n in auto.notes)
    assert exact.lr_check is None and files.lr_check is None


def test_auto_under_ntire_uses_the_files(tiny) -> None:
    root, _ = tiny
    rec = evaluate("bicubic", SCALE, root, protocol="ntire")
    assert rec.protocol["lr_source"] == "files" and rec.lr_check is None


def test_cli_reports_the_difference(tiny, capsys: pytest.CaptureFixture) -> None:
    root, changed = tiny
    assert cli_main(["eval", "bicubic", "--scale", "4", "--dataset", str(root), "--no-progress"]) == 0
    captured = capsys.readouterr()
    n = sum(v for v, _ in changed.values())
    assert "LR bicubic" in captured.out
    assert f"are not the MATLAB-exact bicubic: {n} of " in captured.err
    assert f"max |diff| {max(m for _, m in changed.values())}" in captured.err and "--lr files" in captured.err


def test_community_set5_lr_is_exact() -> None:
    """The shared Set5 LR_bicubic/X4 is MATLAB-exact: auto finds 0 differing values and no note."""
    rec = evaluate("bicubic", 4, SHARED / "datasets" / "Set5", compute_ssim=False)
    assert rec.lr_check["images"] == 5 and rec.lr_check["values_differing"] == 0 and not rec.notes


def test_help_says_what_auto_does() -> None:
    sub = build_parser()._subparsers._group_actions[0].choices["eval"]
    text = " ".join(sub.format_help().split())
    assert "auto (default): paper protocol: the exact bicubic, and LR files, if any, are compared with it" in text
    assert "files: the dataset's LR folder" in text


def test_bench_summary_reports_the_difference(tiny, tmp_path: Path) -> None:
    from bench.commands._bench_job import BenchSummary, summary_lines
    from bench.records import write_json

    root, changed = tiny
    rec = evaluate("bicubic", SCALE, root)
    write_json(tmp_path / "quality" / "bicubic_x4_Tiny.json", rec)
    lines = summary_lines(BenchSummary(out=tmp_path))
    n = sum(v for v, _ in changed.values())
    assert any(f"are not the MATLAB-exact bicubic: {n} of " in line for line in lines)
