"""Output locations checked before any work; late write failures are one line and leave nothing behind
(issue 12, item 4). Tests run as root, so read-only cases use things that fail for root too: a path
under a regular file, a read-only mount (when the machine allows mounting), or a failing write."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bench.outputs
import bench.quality
from bench.cli import main as cli_main
from bench.outputs import OutputError, atomic_write_bytes, check_output_dir


def _dataset(root: Path, n: int = 2, size: int = 48, noise: bool = False) -> Path:
    rng = np.random.default_rng(3)
    for i in range(n):
        (root / "HR").mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8) if noise else \
            np.full((size, size, 3), 40 * (i + 1), np.uint8)
        Image.fromarray(img).save(root / "HR" / f"im{i}.png")
    return root


def _leftovers(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in r.rglob("*") if p.name.endswith((".tmp", ".tmp.png"))
            or p.name.startswith(".esr-bench-probe")]


def _no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a, **k):
        raise AssertionError("work started before the output folder was checked")

    monkeypatch.setattr(bench.quality, "evaluate", fail)


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_out_under_a_regular_file_fails_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_dir(blocker / "results")
    _no_work(monkeypatch)
    assert cli_main(["eval", "bicubic", "--dataset", "samples", "--out", str(blocker / "res")]) == 2
    err = capsys.readouterr().err
    assert f"--out {blocker / 'res' / 'quality'}: {blocker} is a file, not a folder" in err
    assert cli_main(["eval", "bicubic", "--dataset", "samples", "--save", str(blocker)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert cli_main(["runtime", "bicubic", "--scale", "2", "--out", str(blocker)]) == 2
    assert cli_main(["complexity", "bicubic", "--scale", "2", "--out", str(blocker)]) == 2


def test_unwritable_folder_fails_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    """A folder where creating a file fails (as a read-only mount does, even for root)."""
    target = tmp_path / "ro"
    target.mkdir()

    def refuse(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(bench.outputs.tempfile, "mkstemp", refuse)
    _no_work(monkeypatch)
    assert cli_main(["eval", "bicubic", "--dataset", "samples", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--out {target / 'quality'}: cannot write there (read-only file system)" in err
    assert sorted(target.iterdir()) == []  # the probe created and removed quality/ again


def test_not_enough_room_fails_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.outputs.shutil, "disk_usage", lambda p: type("U", (), {"free": 10 * 1024})())
    with pytest.raises(OutputError, match="only 10 KiB free, 64 KiB needed"):
        check_output_dir(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()  # nothing left behind by the check


def test_creatable_folder_passes_and_is_not_left_behind(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists() and _leftovers(tmp_path) == []


def test_atomic_write_bytes_leaves_nothing_on_enospc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f.png").write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(tmp_path / "f.png", b"new" * 1000)
    assert info.value.errno == errno.ENOSPC
    assert (tmp_path / "f.png").read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]


def test_eval_disk_full_late(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """ENOSPC on every write after the up-front check: result printed, one-line error, no temporary file."""
    data = _dataset(tmp_path / "D")
    out, save = tmp_path / "res", tmp_path / "sr"
    monkeypatch.setattr(os, "fsync", _enospc)
    rc = cli_main(["eval", "bicubic", "--scale", "2", "--dataset", str(data), "--out", str(out), "--save", str(save),
                   "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 2
    assert "mean over 2 images: PSNR" in captured.out  # the finished result is not lost
    errors = [line for line in captured.err.splitlines() if line.startswith("esr-bench: error:")]
    assert errors == [f"esr-bench: error: could not write {out / 'quality' / 'bicubic_x2_D.json'} "
                      "(no space left on device); the result is printed above"]
    assert "Traceback" not in captured.err
    assert _leftovers(tmp_path) == [] and not list(out.rglob("*.json")) and not list(save.rglob("*.png"))


def test_eval_save_fails_but_record_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    data = _dataset(tmp_path / "D")
    out, save = tmp_path / "res", tmp_path / "sr"
    monkeypatch.setattr(bench.outputs, "atomic_write_bytes", _enospc)  # only the SR images fail
    rc = cli_main(["eval", "bicubic", "--scale", "2", "--dataset", str(data), "--out", str(out), "--save", str(save),
                   "--no-progress", "--json"])
    captured = capsys.readouterr()
    assert rc == 2
    assert "saving SR images to" in captured.err and "stopped at im0.png (no space left on device)" in captured.err
    import json

    printed = json.loads(captured.out)
    written = json.loads((out / "quality" / "bicubic_x2_D.json").read_text())
    assert printed["psnr"] == written["psnr"] and written["n_images"] == 2
    assert _leftovers(tmp_path) == []


def test_figure_json_never_without_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    import reports.visual
    from reports.visual import Panel, VisualResult

    crop = np.zeros((8, 8, 3), np.uint8)
    res = VisualResult(image="im0", scale=2, box=(0, 0, 8, 8),
                       panels=[Panel("HR", crop), Panel("Bicubic", crop, 30.0, 0.9)])
    monkeypatch.setattr(reports.visual, "visual_comparison", lambda *a, **k: res)
    monkeypatch.setattr(reports.visual, "render_png", lambda r: b"\x89PNG fake")
    target = tmp_path / "fig" / "v.png"
    monkeypatch.setattr(os, "fsync", _enospc)
    rc = cli_main(["figure", "visual", "--models", "bicubic", "--dataset", "x", "--image", "im0", "--out", str(target)])
    captured = capsys.readouterr()
    assert rc == 2 and "PSNR 30.00 dB" in captured.out
    assert f"could not write {target} (no space left on device)" in captured.err
    assert not target.with_suffix(".json").exists() and not target.exists() and _leftovers(tmp_path) == []
    monkeypatch.undo()
    monkeypatch.setattr(reports.visual, "visual_comparison", lambda *a, **k: res)
    monkeypatch.setattr(reports.visual, "render_png", lambda r: b"\x89PNG fake")
    assert cli_main(["figure", "visual", "--models", "bicubic", "--dataset", "x", "--image", "im0",
                     "--out", str(target)]) == 0
    assert target.read_bytes() == b"\x89PNG fake" and target.with_suffix(".json").is_file()


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    """A real 200 KiB tmpfs (skipped where mounting is not allowed)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_real_disk_full_while_saving(tmp_path: Path, tiny_tmpfs: Path, capsys: pytest.CaptureFixture) -> None:
    """The issue's case: a 200 KiB tmpfs as output, SR images (noise, ~75 KiB each) fill it."""
    data = _dataset(tmp_path / "D", n=4, size=160, noise=True)
    rc = cli_main(["eval", "bicubic", "--scale", "2", "--dataset", str(data), "--out", str(tiny_tmpfs),
                   "--save", str(tiny_tmpfs / "sr"), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 2 and "mean over 4 images: PSNR" in captured.out and "Traceback" not in captured.err
    assert "no space left on device" in captured.err
    assert _leftovers(tiny_tmpfs) == []


def test_real_read_only_mount(tmp_path: Path, tiny_tmpfs: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    _no_work(monkeypatch)
    assert cli_main(["eval", "bicubic", "--dataset", "samples", "--out", str(tiny_tmpfs)]) == 2
    assert "cannot write there (read-only file system)" in capsys.readouterr().err


def test_bench_out_checked_and_late_enospc_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli_main(["bench", "--models", "bicubic", "--out", str(blocker)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    import bench.commands._bench_job

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "res" / "runtime" / "x.json"))

    monkeypatch.setattr(bench.commands._bench_job, "run_bench", full)
    assert cli_main(["bench", "--models", "bicubic", "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert err == (f"esr-bench: error: writing {tmp_path / 'res' / 'runtime' / 'x.json'}: no space left on device; "
                   "results finished before are kept, free some space or choose another --out\n")
