"""Dataset layouts of bench.data, value by value: which folders and files are found, under which name,
layout and scales, which LR folder is chosen, the pair lists, and the exact lines a broken dataset is
reported with. Tiny PNGs written by Pillow under tmp_path; the real Set5/Set14 for the benchmark layout.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bench.data as data
from bench.data import (
    IMAGE_EXTENSIONS,
    Dataset,
    DatasetError,
    ImagePair,
    list_datasets,
    ntire_folder,
    ntire_split,
    resolve_dataset,
    samples_dataset,
)
from tests.conftest import SHARED

DATASETS = SHARED / "datasets"
ANY = ", ".join(IMAGE_EXTENSIONS)


def _png(path: Path, h: int = 8, w: int = 8, mode: str = "RGB", fmt: str = "PNG", **info) -> Path:
    """A black ``h x w`` image in ``mode`` at ``path`` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (w, h)).save(path, format=fmt, **info)
    return path


def _ntire(root: Path, prefix: str, stems=("0001",), lr: str = "_LR", lr_file: str = "{s}x4.png") -> Path:
    """``<prefix>_HR/<stem>.png`` (8x8) + ``<prefix><lr>/<lr_file>`` (2x2) under root; returns the HR folder."""
    for s in stems:
        _png(root / f"{prefix}_HR" / f"{s}.png")
        _png(root / f"{prefix}{lr}" / lr_file.format(s=s), 2, 2)
    return root / f"{prefix}_HR"


def _fails(ds: Dataset, *args, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        ds.pairs(*args, **kwargs)
    return str(info.value)


def _problems(ds: Dataset, scale: int, *lines: str, **kwargs) -> None:
    """``ds.pairs(scale)`` is refused with exactly ``lines`` as its problem list."""
    head = f"dataset {ds.name} ({ds.path}) x{scale}: {len(lines)} problem(s):\n  "
    assert _fails(ds, scale, **kwargs) == head + "\n  ".join(lines)


# ------------------------------------------------------------------------------------ file names


def test_image_file_rules_any_and_official_png(tmp_path: Path) -> None:
    for name in ("a.png", "b.PNG", "c.jpg", "d.JpEg", "g.tiff", "h.webp"):
        _png(tmp_path / name, fmt="PNG")
    (tmp_path / "e.txt").write_text("x")
    (tmp_path / "f.png").mkdir()  # a folder, not an image
    (tmp_path / ".png").write_text("x")  # no suffix: not an image in either rule
    everything = ["a.png", "b.PNG", "c.jpg", "d.JpEg", "g.tiff", "h.webp"]
    assert [p.name for p in data._images_in(tmp_path, "any")] == everything
    assert [p.name for p in data._images_in(tmp_path, "png")] == ["a.png"]
    folder = resolve_dataset(tmp_path)
    assert (folder.name, folder.path, folder.layout, folder.hr_dir, folder.lr_dirs, folder.scales) == (
        tmp_path.name, tmp_path, "folder", tmp_path, {}, None)
    assert [p.name for p in folder.hr_files()] == everything
    official = Dataset("x", tmp_path, "folder", tmp_path, image_files="png")
    assert [p.name for p in official.hr_files()] == ["a.png"]
    assert [p.name for p in official.pairs(2, "bicubic")] == ["a"]
    with pytest.raises(ValueError, match="image_files must be one of"):
        Dataset("x", tmp_path, "folder", tmp_path, image_files="PNG")
    with pytest.raises(ValueError, match="image_files must be one of"):
        ntire_split(tmp_path / "nowhere", "A_HR", "A_LR", image_files="jpg")  # refused even when absent
    with pytest.raises(ValueError, match="unknown image file rule 'ANY'"):
        data._images_in(tmp_path, "ANY")


def test_lr_files_follow_the_image_file_rule(tmp_path: Path) -> None:
    hr = _ntire(tmp_path, "DIV2K_valid", ("0001", "0002"))
    _png(tmp_path / "DIV2K_valid_LR" / "0003x4.JPG", 2, 2)
    (tmp_path / "DIV2K_valid_LR" / "notes.txt").write_text("x")
    lr = tmp_path / "DIV2K_valid_LR"
    for rule, names in (("any", ["0001x4.png", "0002x4.png", "0003x4.JPG"]), ("png", ["0001x4.png", "0002x4.png"])):
        ds = data._ntire(hr, lr, rule)
        assert [p.name for p in ds.lr_files(4)] == names
        assert [p.name for p in ds.lr_files("4")] == names  # int() of the scale, as lr_dir
        assert ds.lr_files(2) == [] and ds.lr_dir(2) is None and ds.lr_dir("4") == lr


def test_child_is_a_case_insensitive_folder_lookup(tmp_path: Path) -> None:
    (tmp_path / "lR").mkdir()
    (tmp_path / "HR").mkdir()
    (tmp_path / "hr").mkdir()
    (tmp_path / "Images").write_text("a file, not a folder")
    assert data._child(tmp_path / "missing", "HR") is None
    assert data._child(tmp_path / "Images", "HR") is None  # a file has no children
    assert data._child(tmp_path, "Lr") == tmp_path / "lR"
    assert data._child(tmp_path, "hr") == tmp_path / "hr"  # the exact name first
    assert data._child(tmp_path, "HR") == tmp_path / "HR"
    assert data._child(tmp_path, "images") is None
    assert data._child(tmp_path, "X") is None


# ------------------------------------------------------------------------------------- benchmark


def test_benchmark_layout_folders_and_scales(tmp_path: Path) -> None:
    root = tmp_path / "bsd100"
    _png(root / "hr" / "a.png")
    for sub in ("X2", "x3", "X4_old", "Y4", "X"):
        (root / "LR_bicubic" / sub).mkdir(parents=True)
    (root / "LR_bicubic" / "X5").write_text("a file")
    ds = resolve_dataset(root)
    assert (ds.name, ds.path, ds.layout, ds.hr_dir, ds.scales) == ("B100", root, "benchmark", root / "hr", None)
    assert ds.lr_dirs == {2: root / "LR_bicubic" / "X2", 3: root / "LR_bicubic" / "x3"}
    both = tmp_path / "Both"  # on a case-sensitive file system: the exact spellings first
    for hr_name, lr_name in (("HR", "LR_bicubic"), ("hr", "lr_bicubic")):
        _png(both / hr_name / f"{hr_name}.png")
        (both / lr_name / ("X2" if lr_name == "LR_bicubic" else "X3")).mkdir(parents=True)
    ds = resolve_dataset(both)
    assert (ds.hr_dir, ds.lr_dirs) == (both / "HR", {2: both / "LR_bicubic" / "X2"})
    other = tmp_path / "MySet"
    _png(other / "HR" / "a.png")
    ds = resolve_dataset(other)
    assert (ds.name, ds.layout, ds.lr_dirs) == ("MySet", "benchmark", {})
    assert _fails(ds, 4, "files") == (
        f"dataset MySet: no LR folder for x4 (looked for {other / 'LR_bicubic' / 'X4'}); "
        "use lr_source 'bicubic' (--lr bicubic) to make LR images")
    assert [(p.name, p.lr) for p in ds.pairs(4)] == [("a", None)]  # auto: no LR folder, bicubic


def test_real_set5_and_set14_layouts() -> None:
    set5 = resolve_dataset(DATASETS / "Set5", split="test")  # split only concerns NTIRE folders
    assert (set5.name, set5.layout, set5.hr_dir) == ("Set5", "benchmark", DATASETS / "Set5" / "HR")
    assert set5.lr_dirs == {s: DATASETS / "Set5" / "LR_bicubic" / f"X{s}" for s in (2, 3, 4)}
    pairs = set5.pairs(4, "files")
    assert pairs[0] == ImagePair("baby", DATASETS / "Set5" / "HR" / "baby.png",
                                 DATASETS / "Set5" / "LR_bicubic" / "X4" / "babyx4.png")
    assert [p.lr for p in set5.pairs(4, "bicubic")] == [None] * 5
    set14 = resolve_dataset(DATASETS / "Set14")
    assert _fails(set14, 3, "files") == (
        f"dataset Set14: no LR folder for x3 (looked for {DATASETS / 'Set14' / 'LR_bicubic' / 'X3'}); "
        "use lr_source 'bicubic' (--lr bicubic) to make LR images")


# ----------------------------------------------------------------------------------------- NTIRE


def test_ntire_lr_folder_choice(tmp_path: Path) -> None:
    hr = _ntire(tmp_path, "P")
    _png(tmp_path / "P_LR_bicubic" / "X4" / "0001x4.png", 2, 2)
    _png(tmp_path / "P_LR_bicubic" / "0001x4.png", 2, 2)
    ds = data._ntire_dataset(hr)
    assert (ds.name, ds.path, ds.layout, ds.hr_dir, ds.scales, ds.image_files) == (
        "P", tmp_path, "ntire", hr, (4,), "any")
    assert ds.lr_dirs == {4: tmp_path / "P_LR"}
    (tmp_path / "P_LR" / "0001x4.png").unlink()  # an empty folder is passed over
    assert data._ntire_dataset(hr).lr_dirs == {4: tmp_path / "P_LR_bicubic" / "X4"}
    (tmp_path / "P_LR").rmdir()
    (tmp_path / "P_LR").write_text("a file named like the folder")
    (tmp_path / "P_LR_bicubic" / "X4" / "0001x4.png").unlink()
    assert data._ntire_dataset(hr).lr_dirs == {4: tmp_path / "P_LR_bicubic"}
    (tmp_path / "P_LR_bicubic" / "0001x4.png").unlink()
    ds = data._ntire_dataset(hr)
    assert ds.lr_dirs == {} and ds.scales == (4,)
    assert _fails(ds, 4, "files") == (f"dataset P: no LR folder for x4 (looked for {tmp_path / 'P_LR'}); "
                                      "use lr_source 'bicubic' (--lr bicubic) to make LR images")
    assert [(p.name, p.lr) for p in ds.pairs(4, "bicubic")] == [("0001", None)]
    assert _fails(ds, 2, "bicubic") == f"dataset P ({tmp_path}) is an x4 set; cannot evaluate x2"


def test_ntire_split_choice(tmp_path: Path) -> None:
    for prefix in ("DIV2K_test", "DIV2K_LSDIR_test", "LSDIR_DIV2K_valid"):
        _ntire(tmp_path, prefix)
    find = data._find_ntire_hr
    assert find(tmp_path, None) == tmp_path / "LSDIR_DIV2K_valid_HR"  # valid first
    assert find(tmp_path, "") == tmp_path / "LSDIR_DIV2K_valid_HR"
    assert find(tmp_path, "test") == tmp_path / "DIV2K_LSDIR_test_HR"  # NTIRE_PREFIXES order
    assert find(tmp_path, "Test") == tmp_path / "DIV2K_LSDIR_test_HR"
    assert find(tmp_path, "valid") == tmp_path / "LSDIR_DIV2K_valid_HR"
    with pytest.raises(DatasetError) as info:
        find(tmp_path, "train")
    assert str(info.value) == (f"{tmp_path}: no NTIRE train split (found "
                               "['DIV2K_LSDIR_test_HR', 'LSDIR_DIV2K_valid_HR', 'DIV2K_test_HR'])")
    assert find(tmp_path / "LSDIR_DIV2K_valid_HR", None) is None
    (tmp_path / "LSDIR_DIV2K_valid_HR").rename(tmp_path / "lsdir_div2k_VALID_hr")
    assert find(tmp_path, None) == tmp_path / "lsdir_div2k_VALID_hr"  # any letter case
    (tmp_path / "lsdir_div2k_VALID_hr").rename(tmp_path / "elsewhere")
    assert find(tmp_path, None) == tmp_path / "DIV2K_LSDIR_test_HR"  # no valid split: the first found
    ds = resolve_dataset(tmp_path)
    assert (ds.name, ds.layout, ds.lr_dirs) == ("DIV2K_LSDIR_test", "ntire", {4: tmp_path / "DIV2K_LSDIR_test_LR"})
    assert resolve_dataset(tmp_path, split="test").name == "DIV2K_LSDIR_test"


def test_ntire_folder_and_split_by_the_rules_names(tmp_path: Path) -> None:
    hr = _ntire(tmp_path, "LSDIR_DIV2K_valid", ("0801", "0802"))  # the official 2024 spelling
    assert ntire_folder(tmp_path, "DIV2K_LSDIR_valid_HR") == hr
    assert ntire_folder(str(tmp_path), "DIV2K_LSDIR_valid_LR") == tmp_path / "LSDIR_DIV2K_valid_LR"
    assert ntire_folder(tmp_path, "div2k_lsdir_valid_HR") is None  # the alias is for the rules' exact spelling
    assert ntire_folder(tmp_path, "lsdir_div2k_VALID_hr") == hr  # letter case
    assert ntire_folder(tmp_path, "DIV2K_LSDIR_test_HR") is None
    assert ntire_folder(tmp_path, "LSDIR_DIV2K_test_HR") is None
    (tmp_path / "LSDIR_DIV2K_validation_HR").mkdir()
    assert ntire_folder(tmp_path, "DIV2K_LSDIR_validation_HR") is None  # a prefix of a word is no alias
    (tmp_path / "DIV2K_LSDIR_valid_HR").mkdir()
    assert ntire_folder(tmp_path, "DIV2K_LSDIR_valid_HR") == tmp_path / "DIV2K_LSDIR_valid_HR"  # exact first
    (tmp_path / "DIV2K_LSDIR_valid_HR").rmdir()

    ds = ntire_split(tmp_path, "DIV2K_LSDIR_valid_HR", "DIV2K_LSDIR_valid_LR")
    assert (ds.name, ds.path, ds.layout, ds.hr_dir, ds.scales, ds.image_files) == (
        "LSDIR_DIV2K_valid", tmp_path, "ntire", hr, (4,), "any")
    assert ds.lr_dirs == {4: tmp_path / "LSDIR_DIV2K_valid_LR"}
    lr = tmp_path / "LSDIR_DIV2K_valid_LR"
    expected = [ImagePair(s, hr / f"{s}.png", lr / f"{s}x4.png") for s in ("0801", "0802")]
    assert ds.pairs(4, lr_source="files") == expected
    assert ntire_split(tmp_path, "DIV2K_LSDIR_valid_HR", "DIV2K_LSDIR_test_LR") is None
    assert ntire_split(tmp_path, "DIV2K_LSDIR_test_HR", "DIV2K_LSDIR_valid_LR") is None
    plain = ntire_split(tmp_path, "LSDIR_DIV2K_valid_HR", "LSDIR_DIV2K_valid_LR", image_files="png")
    assert (plain.name, plain.image_files) == ("LSDIR_DIV2K_valid", "png")
    (tmp_path / "HR").mkdir()
    assert ntire_split(tmp_path, "HR", "LSDIR_DIV2K_valid_LR").name == "HR"  # no _HR suffix: the folder name


def test_ntire_by_path_and_by_name(tmp_path: Path) -> None:
    hr = _ntire(tmp_path, "DIV2K_valid")
    (tmp_path / "DIV2K_valid_HR").rename(tmp_path / "DIV2K_valid_hr")
    hr = tmp_path / "DIV2K_valid_hr"
    ds = resolve_dataset(hr)  # the _HR folder itself, in any letter case
    assert (ds.name, ds.layout, ds.hr_dir, ds.lr_dirs) == ("DIV2K_valid", "ntire", hr, {4: tmp_path / "DIV2K_valid_LR"})
    by_name = resolve_dataset("div2k_VALID", root=tmp_path)
    assert (by_name.name, by_name.layout, by_name.hr_dir) == ("DIV2K_valid", "ntire", hr)
    with pytest.raises(DatasetError, match="'DIV2K_test' not found under"):
        resolve_dataset("DIV2K_test", root=tmp_path)


# --------------------------------------------------------------------------------- name and path


def test_resolve_paths_names_and_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESR_BENCH_DATA", raising=False)
    for text in ("samples", "SAMPLES"):
        assert resolve_dataset(text).layout == "samples"
    monkeypatch.chdir(tmp_path)
    for text in ("nope/", "a\\b", str(tmp_path / "nope")):
        with pytest.raises(DatasetError) as info:
            resolve_dataset(text)
        assert str(info.value) == f"dataset folder {Path(text)} does not exist"
    _png(tmp_path / "img.png")
    with pytest.raises(DatasetError, match=r"img.png is not a folder$"):
        resolve_dataset("img.png")  # exists: a path, even without a slash
    with pytest.raises(DatasetError) as info:
        resolve_dataset("Manga109")
    assert str(info.value) == ("dataset 'Manga109': set ESR_BENCH_DATA to the folder holding your datasets, or "
                               "pass a path (known names: Set5, Set14, B100, Urban100, Manga109, samples)")
    base = tmp_path / "data"
    for folder in ("B100", "BSDS100", "set5", "mydata", "Set14"):
        _png(base / folder / "HR" / "a.png")
    (base / "Set14" / "HR").rename(base / "Set14" / "images")  # no HR: Set14 is a plain folder here
    b100 = resolve_dataset("bsd100", root=base)
    assert (b100.name, b100.path) == ("B100", base / "B100")  # the first accepted folder name
    set5 = resolve_dataset("SET5", root=base)
    assert (set5.name, set5.path, set5.layout) == ("Set5", base / "set5", "benchmark")
    mine = resolve_dataset("MyData", root=base)
    assert (mine.name, mine.path) == ("mydata", base / "mydata")  # not a known name: the folder's
    with pytest.raises(DatasetError, match=r"not a dataset"):
        resolve_dataset("Set14", root=base)
    for split in ("valid", "test"):
        _ntire(base / "ntire", f"DIV2K_{split}")
    assert resolve_dataset("ntire", root=base, split="test").name == "DIV2K_test"  # the split reaches the folder
    assert resolve_dataset("ntire", root=base).name == "DIV2K_valid"
    with pytest.raises(DatasetError) as info:
        resolve_dataset("Urban100", root=base)
    assert str(info.value) == (f"dataset 'Urban100' not found under {base} "
                               "(known names: Set5, Set14, B100, Urban100, Manga109)")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_dataset("Set5", root="~/data").path == base / "set5"
    monkeypatch.setenv("ESR_BENCH_DATA", str(base))
    assert resolve_dataset("Set5").path == base / "set5"
    assert resolve_dataset("Set5", root=DATASETS).path == DATASETS / "Set5"  # root wins over the variable


def test_from_path_order_of_layouts(tmp_path: Path) -> None:
    both = tmp_path / "Odd_HR"
    _png(both / "HR" / "a.png")
    assert resolve_dataset(both).layout == "benchmark"  # an HR child decides first
    mixed = tmp_path / "mixed"
    _png(mixed / "loose.png")
    _ntire(mixed, "DIV2K_valid")
    assert resolve_dataset(mixed).layout == "ntire"  # NTIRE folders before loose images
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"empty: not a dataset: expected HR/"):
        resolve_dataset(empty)


def test_list_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESR_BENCH_DATA", raising=False)
    assert [(d.name, d.layout) for d in list_datasets()] == [("samples", "samples")]
    assert [d.name for d in list_datasets(tmp_path / "missing")] == ["samples"]
    _png(tmp_path / "bsds100" / "HR" / "a.png")
    _png(tmp_path / "Mine" / "hr" / "a.png")
    _ntire(tmp_path, "DIV2K_valid")
    _ntire(tmp_path, "div2k_lsdir_TEST")
    _ntire(tmp_path, "Other")  # not an NTIRE prefix
    _png(tmp_path / "loose" / "a.png")  # no layout
    (tmp_path / "HR").write_text("a file named like a folder")
    found = list_datasets(tmp_path)
    assert [(d.name, d.layout, d.hr_dir) for d in found] == [
        ("DIV2K_valid", "ntire", tmp_path / "DIV2K_valid_HR"),
        ("Mine", "benchmark", tmp_path / "Mine" / "hr"),
        ("B100", "benchmark", tmp_path / "bsds100" / "HR"),
        ("div2k_lsdir_TEST", "ntire", tmp_path / "div2k_lsdir_TEST_HR"),
        ("samples", "samples", samples_dataset().hr_dir),
    ]
    assert found[0].lr_dirs == {4: tmp_path / "DIV2K_valid_LR"}
    monkeypatch.setenv("HOME", str(tmp_path.parent))
    assert len(list_datasets(f"~/{tmp_path.name}")) == 5
    monkeypatch.setenv("ESR_BENCH_DATA", str(tmp_path))
    assert len(list_datasets()) == 5


def test_samples_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    ds = samples_dataset()
    assert (ds.name, ds.path, ds.layout, ds.hr_dir, ds.lr_dirs, ds.scales) == (
        "samples", folder, "samples", folder, {}, None)
    assert ds.hr_files() == [folder / n for n in data.SAMPLE_IMAGES]
    monkeypatch.setattr(data, "SAMPLE_IMAGES", ("nope.png", "coffee.png", "data"))
    assert samples_dataset().hr_files() == [folder / "coffee.png"]  # only files that are there
    monkeypatch.setattr(data, "SAMPLE_IMAGES", ("nope.png",))
    with pytest.raises(DatasetError, match="bundled images were not found"):
        samples_dataset()


# ------------------------------------------------------------------------------------------ pairs


def test_pairs_sources(tmp_path: Path) -> None:
    root = tmp_path / "S"
    for s in ("a", "b"):
        _png(root / "HR" / f"{s}.png", 8, 12)
        _png(root / "LR_bicubic" / "X4" / f"{s}x4.png", 2, 3)
    _png(root / "LR_bicubic" / "X2" / "a.png", 4, 6)  # the no-suffix name is accepted too
    _png(root / "LR_bicubic" / "X2" / "b.jpg", 4, 6)  # any image extension under the "any" rule
    ds = resolve_dataset(root)
    lr4, lr2 = root / "LR_bicubic" / "X4", root / "LR_bicubic" / "X2"
    files = [ImagePair(s, root / "HR" / f"{s}.png", lr4 / f"{s}x4.png") for s in ("a", "b")]
    assert ds.pairs(4) == ds.pairs(4, "files") == ds.pairs("4", "auto") == files
    assert ds.pairs(4, "bicubic") == [ImagePair(s, root / "HR" / f"{s}.png", None) for s in ("a", "b")]
    assert [p.lr for p in ds.pairs(2)] == [lr2 / "a.png", lr2 / "b.jpg"]
    assert [p.lr for p in ds.pairs(3)] == [None, None]
    with pytest.raises(ValueError, match="lr_source must be"):
        ds.pairs(4, "file")
    png_only = Dataset("S", root, "benchmark", root / "HR", {2: lr2}, image_files="png")
    _problems(png_only, 2, f"missing LR for b.png: expected {lr2 / 'bx2.png'}")


def test_pairs_lists_every_problem_exactly(tmp_path: Path) -> None:
    root = tmp_path / "S"
    hr, lr = root / "HR", root / "LR_bicubic" / "X4"
    _png(hr / "a.png", 9, 13)  # fine: LR 2x3
    _png(lr / "ax4.png", 2, 3)
    _png(hr / "b.png", 8, 8)  # missing LR
    _png(hr / "c.png", 8, 8)  # three LR files
    _png(lr / "cx4.png", 2, 2)
    _png(lr / "cx4.jpg", 2, 2, fmt="PNG")
    _png(lr / "c.png", 2, 2)
    _png(hr / "d.jpg", 8, 8, fmt="PNG")  # d twice
    _png(hr / "d.png", 8, 8)
    _png(lr / "dx4.png", 2, 2)
    _png(hr / "e.png", 3, 9)  # smaller than the scale (its LR is then not looked at)
    _png(lr / "ex4.png", 1, 1)
    _png(hr / "f.png", 9, 3)
    _png(lr / "fx4.png", 1, 1)
    _png(hr / "g.png", 4, 4)  # the scale itself is fine
    _png(lr / "gx4.png", 1, 1)
    _png(hr / "h.png", 12, 8)  # wrong LR size (H and W told apart)
    _png(lr / "hx4.png", 2, 3)
    (hr / "i.png").write_bytes(b"not an image")
    _png(hr / "j.png", 8, 8)
    (lr / "jx4.png").write_bytes(b"not an image either")
    _png(hr / "k.png", 16, 8)
    _png(lr / "kx4.png", 4, 2)
    _png(hr / "l.png", 8, 8)  # after the unreadable LR: still checked
    ds = resolve_dataset(root)
    dup = f"{hr}: 2 images named 'd' (d.jpg, d.png); results and saved images are keyed by name: keep one"
    three = f"{lr}: 3 LR files for c.png (cx4.jpg, cx4.png, c.png); keep only the one to evaluate"
    _problems(
        ds, 4, dup,
        f"missing LR for b.png: expected {lr / 'bx4.png'}",
        three,
        f"{hr / 'e.png'}: 3x9 is smaller than the scale x4",
        f"{hr / 'f.png'}: 9x3 is smaller than the scale x4",
        f"{lr / 'hx4.png'}: LR is 2x3 (HxW) but HR h.png is 12x8; x4 needs 3x2",
        f"missing LR for i.png: expected {lr / 'ix4.png'}",
        str(_probe_error(hr / "i.png")),
        str(_probe_error(lr / "jx4.png")),
        f"missing LR for l.png: expected {lr / 'lx4.png'}",
    )
    # check=False: only the pairing problems, no file is opened
    _problems(ds, 4, dup, f"missing LR for b.png: expected {lr / 'bx4.png'}", three,
              f"missing LR for i.png: expected {lr / 'ix4.png'}", f"missing LR for l.png: expected {lr / 'lx4.png'}",
              check=False)
    for name in ("b.png", "c.png", "d.jpg", "e.png", "f.png", "h.png", "i.png", "j.png", "l.png"):
        (hr / name).unlink()
    assert ds.pairs(4) == [ImagePair(s, hr / f"{s}.png", lr / f"{s}x4.png") for s in ("a", "d", "g", "k")]
    assert ds.pairs(4, check=False) == ds.pairs(4, min_side=4)
    _problems(ds, 4, f"{hr / 'g.png'}: 4x4 (HxW; 4x4 after modcrop to x4) is too small: at least 8x8 needed",
              min_side=8)
    too_small = [f"{hr / n}: {h}x{w} (HxW; {ch}x{cw} after modcrop to x4) is too small: at least 9x9 needed "
                 "(border 4 + SSIM window)" for n, h, w, ch, cw in
                 (("a.png", 9, 13, 8, 12), ("d.png", 8, 8, 8, 8), ("g.png", 4, 4, 4, 4), ("k.png", 16, 8, 16, 8))]
    _problems(ds, 4, *too_small, min_side=9, min_side_why="border 4 + SSIM window")


def test_pairs_message_shows_fifty_problems(tmp_path: Path) -> None:
    for i in range(51):
        _png(tmp_path / "S" / "HR" / f"{i:02d}.png", 4, 4)
    (tmp_path / "S" / "LR_bicubic" / "X2").mkdir(parents=True)
    ds = resolve_dataset(tmp_path / "S")
    lr = tmp_path / "S" / "LR_bicubic" / "X2"
    lines = [f"missing LR for {i:02d}.png: expected {lr / f'{i:02d}x2.png'}" for i in range(51)]
    assert _fails(ds, 2, check=False) == (f"dataset S ({tmp_path / 'S'}) x2: 51 problem(s):\n  "
                                          + "\n  ".join(lines[:50]) + "\n  ... and 1 more")
    (tmp_path / "S" / "HR" / "50.png").unlink()
    _problems(ds, 2, *lines[:50], check=False)


def test_empty_folder_message_names_the_rule(tmp_path: Path) -> None:
    (tmp_path / "E").mkdir()
    _png(tmp_path / "E" / "a.PNG")
    assert _fails(Dataset("E", tmp_path, "folder", tmp_path / "E", image_files="png"), 2) == (
        f"dataset E: no images (.png) in {tmp_path / 'E'}")
    (tmp_path / "E" / "a.PNG").unlink()
    assert _fails(Dataset("E", tmp_path, "folder", tmp_path / "E"), 2) == (
        f"dataset E: no images ({ANY}) in {tmp_path / 'E'}")
    assert _fails(Dataset("E", tmp_path, "folder", tmp_path / "E"), 2, "files") == (
        f"dataset E: no images ({ANY}) in {tmp_path / 'E'}")  # checked before the LR folder
    _png(tmp_path / "E" / "a.png")
    assert _fails(Dataset("E", tmp_path, "folder", tmp_path / "E"), 2, "files") == (
        "dataset E: no LR folder for x2 (looked for (none for this layout)); use lr_source 'bicubic' "
        "(--lr bicubic) to make LR images")


def _probe_error(path: Path) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        data._probe(path)
    return info.value


def test_probe_sizes_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data._probe(_png(tmp_path / "rgb.png", 5, 7)) == (5, 7)
    assert data._probe(_png(tmp_path / "grey.png", 6, 3, "L")) == (6, 3)
    opaque = _png(tmp_path / "opaque.png", 4, 6, "RGBA")
    Image.new("RGBA", (6, 4), (1, 2, 3, 255)).save(opaque)
    la = tmp_path / "la.png"
    Image.new("LA", (6, 4), (9, 255)).save(la)
    pal = tmp_path / "pal.png"
    Image.new("P", (6, 4), 1).save(pal, transparency=0)  # index 0 transparent, no pixel uses it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the pre-check decodes without warning about the dropped alpha
        assert [data._probe(p) for p in (opaque, la, pal)] == [(4, 6)] * 3
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (6, 4), (1, 2, 3, 254)).save(clear)
    clear_la = tmp_path / "clear_la.png"
    Image.new("LA", (6, 4), (9, 0)).save(clear_la)
    clear_pal = tmp_path / "clear_pal.png"
    Image.new("P", (6, 4), 0).save(clear_pal, transparency=0)
    for p in (clear, clear_la, clear_pal):
        assert str(_probe_error(p)).startswith(f"{p}: image has transparent pixels (alpha channel with values "
                                               "below 255)")
    f32 = tmp_path / "f.tiff"
    Image.new("F", (6, 4)).save(f32)
    assert str(_probe_error(f32)) == f"{f32}: unsupported image mode 'F' (need 8-bit RGB or grayscale)"
    assert str(_probe_error(tmp_path)).startswith(f"{tmp_path}: unreadable image (")
    text = tmp_path / "t.png"
    text.write_text("hello")
    assert str(_probe_error(text)).startswith(f"{text}: unreadable image (UnidentifiedImageError: ")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4)
    assert str(_probe_error(tmp_path / "rgb.png")).startswith(f"{tmp_path / 'rgb.png'}: {data._BOMB} (")


# ------------------------------------------------------------------------------- headers and modes


def _chunk(tag: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)


def test_probe_decodes_only_images_that_can_be_transparent(tmp_path: Path) -> None:
    """The up-front check reads headers; it decodes an image only to look at its alpha. A palette image with
    a broken pixel stream (valid chunk CRCs) therefore passes it and is refused when read."""
    import zlib

    good = _png(tmp_path / "p.png", 4, 4, "P").read_bytes()
    at = good.index(b"IDAT") - 4
    size = int.from_bytes(good[at:at + 4], "big")
    broken = tmp_path / "broken.png"
    broken.write_bytes(good[:at] + _chunk(b"IDAT", zlib.compress(b"\x00" * 3)) + good[at + 12 + size:])
    assert data._probe(broken) == (4, 4)
    with pytest.raises(DatasetError, match="broken.png: unreadable image"):
        data.read_image(broken)


def test_probe_silences_only_the_alpha_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (6, 4), (1, 2, 3, 255)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20)  # 24 pixels: Pillow warns (its error is above 40)
    with pytest.warns(Image.DecompressionBombWarning) as record:
        assert data._probe(path) == (4, 6)
    assert [w.category for w in record] == [Image.DecompressionBombWarning] * 2  # the header, then the decode


def test_png_header_needs_the_signature_and_ihdr_first(tmp_path: Path) -> None:
    ihdr_16bit_rgb = (4).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes([16, 2, 0, 0, 0])
    no_ihdr = tmp_path / "no_ihdr.png"  # PNG signature, but the first chunk is not IHDR
    no_ihdr.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDX", ihdr_16bit_rgb) + _chunk(b"IEND", b""))
    not_png = tmp_path / "not_png.png"  # IHDR where a PNG has it, but no PNG signature
    not_png.write_bytes(b"GIF89a\x00\x00" + _chunk(b"IHDR", ihdr_16bit_rgb))
    for p in (no_ihdr, not_png):
        assert data._png_header(p) is None
        with pytest.raises(DatasetError, match=r"unreadable image"):
            data.read_image(p)
    real = tmp_path / "rgb16.png"
    real.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr_16bit_rgb))
    assert data._png_header(real) == (16, 2)
    (tmp_path / "short.png").write_bytes(real.read_bytes()[:25])
    assert data._png_header(tmp_path / "short.png") is None


def test_ycbcr_tiff_reads_as_pillow_rgb(tmp_path: Path) -> None:
    path = tmp_path / "ycc.tiff"
    Image.new("YCbCr", (5, 3), (120, 90, 200)).save(path)
    with Image.open(path) as im:
        assert im.mode == "YCbCr"
        expected = np.asarray(im.convert("RGB"))
    got = data.read_image(path)
    assert got.shape == (3, 5, 3) and np.array_equal(got, expected)


@pytest.mark.parametrize("rule, text", [("paper", "round(v/257)"), ("opencv", "v>>8, as OpenCV")])
def test_16bit_warning_names_the_rule(tmp_path: Path, rule: str, text: str) -> None:
    from tests.test_data import _write_png16

    _write_png16(tmp_path / "g.png", np.full((2, 3), 1000, np.uint16))
    with pytest.warns(data.ImageConversionWarning) as record:
        data.read_image(tmp_path / "g.png", sixteen_bit=rule)
    assert [str(w.message) for w in record] == [f"{tmp_path / 'g.png'}: 16-bit image converted to 8 bits ({text})"]


def test_palette_alpha_tiff_is_read_and_checked(tmp_path: Path) -> None:
    """A ``PA`` image (palette + alpha) can come from a TIFF file: opaque, its palette colours are read (alpha
    dropped with a warning); with a transparent pixel it is refused, by the up-front check too."""
    pixels = np.zeros((3, 4, 2), np.uint8)
    pixels[..., 0], pixels[..., 1] = 1, 255
    pixels[0, 0, 0] = 0
    opaque = Image.frombytes("PA", (4, 3), pixels.tobytes())
    opaque.putpalette([0, 0, 0, 200, 100, 50])
    opaque.save(tmp_path / "opaque.tiff")
    pixels[2, 3, 1] = 0
    clear = Image.frombytes("PA", (4, 3), pixels.tobytes())
    clear.putpalette([0, 0, 0, 200, 100, 50])
    clear.save(tmp_path / "clear.tiff")
    with Image.open(tmp_path / "opaque.tiff") as im:
        assert im.mode == "PA"
    expected = np.tile(np.array([200, 100, 50], np.uint8), (3, 4, 1))
    expected[0, 0] = 0
    with pytest.warns(data.ImageConversionWarning, match="fully opaque alpha channel dropped"):
        assert np.array_equal(data.read_image(tmp_path / "opaque.tiff"), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data._probe(tmp_path / "opaque.tiff") == (3, 4)
    for read in (data.read_image, data._probe):
        with pytest.raises(DatasetError, match="clear.tiff: image has transparent pixels"):
            read(tmp_path / "clear.tiff")
