"""Registry, weight resolution and strict, safe checkpoint loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from models import (
    CheckpointError,
    UnknownModelError,
    UnsupportedScaleError,
    WeightsNotFoundError,
    create_model,
    get_spec,
    list_models,
)
from models.weights import sha256_file
from tests.conftest import read_reference_csv


def test_specs_match_manifest(manifest: list[dict[str, str]]) -> None:
    """Every registered checkpoint's facts equal the MANIFEST's (file, sha256, URL parts, key, range)."""
    by_file = {r["file"]: r for r in manifest}
    seen = 0
    for name in list_models(pretrained=True):
        spec = get_spec(name)
        for scale, ckpt in spec.checkpoints.items():
            row = by_file[ckpt.file]
            assert int(row["scale"]) == scale
            assert ckpt.sha256 == row["sha256"]
            assert (ckpt.source_repo, ckpt.commit, ckpt.source_path) == (
                row["source_repo"], row["commit"], row["source_path"])
            assert (ckpt.state_dict_key or "") == row["state_dict_key"]
            assert ckpt.strip_prefix == row["strip_prefix"]
            assert spec.data_range == float(row["data_range"])
            assert ckpt.url == f"https://github.com/{row['source_repo']}/raw/{row['commit']}/{row['source_path']}"
            seen += 1
    assert seen >= 4


def test_list_and_aliases() -> None:
    names = list_models()
    assert "agdn" in names and "agdn-s" in names
    assert get_spec("AGDN_S") is get_spec("agdn-s")
    with pytest.raises(UnknownModelError, match="unknown model 'nope'"):
        get_spec("nope")


def test_published_numbers_attached() -> None:
    pub = get_spec("agdn").published(4)
    assert pub["params_k"] == 293 and pub["madds_g"] == 16.1 and pub["Set5_psnr"] == 32.43
    assert get_spec("agdn-s").published(4)["Urban100_psnr"] == 25.99


def test_unsupported_scale() -> None:
    with pytest.raises(UnsupportedScaleError, match=r"supports scales \[4\]"):
        create_model("agdn-s", 2)


def test_missing_checkpoint_names_file_dir_and_fetch(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        create_model("agdn", 3, pretrained=True, weights_dir=tmp_path)
    msg = str(info.value)
    assert "AGDN_x3.pth" in msg and str(tmp_path) in msg and "esr-bench weights fetch agdn" in msg


def test_env_var_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_weights: Path) -> None:
    monkeypatch.setenv("ESR_BENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsNotFoundError):
        create_model("agdn-s", 4, pretrained=True)
    shutil.copy(shared_weights / "AGDN-S_ntire2024_team31.pth", tmp_path)
    assert create_model("agdn-s", 4, pretrained=True) is not None


def test_corrupt_checkpoint(tmp_path: Path, shared_weights: Path) -> None:
    data = (shared_weights / "AGDN_x4.pth").read_bytes()
    bad = tmp_path / "AGDN_x4.pth"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="sha256"):  # registry file: hash checked first
        create_model("agdn", 4, pretrained=True, weights_dir=tmp_path)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):  # explicit path: read error
        create_model("agdn", 4, pretrained=bad)


def test_checkpoint_of_another_model(shared_weights: Path) -> None:
    with pytest.raises(CheckpointError) as info:
        create_model("agdn", 4, pretrained=shared_weights / "AGDN-S_ntire2024_team31.pth")
    msg = str(info.value)
    assert "unexpected keys" not in msg or "missing keys" in msg
    assert "shape mismatches" in msg and "fea_conv.weight" in msg


def test_checkpoint_of_another_scale(shared_weights: Path) -> None:
    with pytest.raises(CheckpointError) as info:
        create_model("agdn", 4, pretrained=shared_weights / "AGDN_x2.pth")
    msg = str(info.value)
    assert "upsampler.0.weight: checkpoint (12, 42, 3, 3) vs model (48, 42, 3, 3)" in msg
    assert "another scale" in msg


def test_wrong_key_layout(tmp_path: Path) -> None:
    model = create_model("agdn-s", 4)
    sd = {f"module.{k}": v for k, v in model.state_dict().items()}
    path = tmp_path / "prefixed.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="missing keys .*unexpected keys"):
        create_model("agdn-s", 4, pretrained=path)
    nested = tmp_path / "nested.pth"
    torch.save({"params_ema": model.state_dict()}, nested)
    assert create_model("agdn-s", 4, pretrained=nested) is not None  # usual nesting is unwrapped


def test_pickled_module_is_refused_without_executing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    with pytest.raises(CheckpointError, match="refused to unpickle"):
        create_model("agdn-s", 4, pretrained=path)
    assert not marker.exists()


def test_official_checkpoint_loads_strict_and_hash(shared_weights: Path, manifest) -> None:
    model = create_model("agdn", 2, pretrained=True)
    assert not model.training
    ref = torch.load(shared_weights / "AGDN_x2.pth", weights_only=True)["params_ema"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k])
    row = next(r for r in manifest if r["file"] == "AGDN_x2.pth")
    assert sha256_file(shared_weights / "AGDN_x2.pth") == row["sha256"]


def test_manifest_rows_all_registered(manifest) -> None:
    files = {c.file for n in list_models(pretrained=True) for c in get_spec(n).checkpoints.values()}
    agdn_rows = [r for r in manifest if r["model"] in ("AGDN", "AGDN-S")]
    assert {r["file"] for r in agdn_rows} <= files
    assert read_reference_csv  # helper importable for other tests
