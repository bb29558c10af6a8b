"""Quiet mistakes an organiser must hear about: a wrong data_range caught on the real images, and an
ambiguous state-dict key (``params`` and ``params_ema`` both present, none declared)."""

from __future__ import annotations

import pytest
import torch

from challenge.validate import validate_submission

from .challenge_fixtures import OFFSET, TINY, _tiny_state, team_toml, write_offset_data, write_team


@pytest.fixture(scope="module")
def reps(tmp_path_factory):
    root, data = tmp_path_factory.mktemp("sub"), tmp_path_factory.mktemp("data")
    write_offset_data(data)
    bias = {"bias": torch.tensor([6 / 255])}
    write_team(root, "01", "Declared255", OFFSET, "OffsetSR", bias)
    write_team(root, "02", "Declared1", OFFSET, "OffsetSR", bias)
    sd = _tiny_state()
    ema = {k: v + 0.004 * (k == "head.weight") for k, v in sd.items()}
    write_team(root, "03", "Keys", TINY, "TinySR", {"params": sd, "params_ema": ema})
    (root / "submission.toml").write_text("year = 2024\n" + team_toml("01", "Declared255", "OffsetSR", data_range=255.0)
                                          + team_toml("02", "Declared1", "OffsetSR", data_range=1.0)
                                          + team_toml("03", "Keys", "TinySR"))
    return {r.team: r for r in validate_submission(root, data=data, timeout_s=180, memory_mb=4096)}


def test_wrong_data_range_caught_on_real_images(reps):
    bad, good = reps["01_Declared255"], reps["02_Declared1"]
    # the synthetic check image cannot tell (it favours the declared 255), the real images can
    assert bad.metrics["check_psnr"] >= bad.metrics["check_psnr_other_range"]
    finding = [f for f in bad.findings if f.code == "wrong-data-range"]
    assert finding and finding[0].severity == "error", [f.to_dict() for f in bad.findings]
    chk = bad.metrics["data_range_check"]
    assert chk["images"] == 2 and chk["psnr_1"] > chk["psnr_255"] + 10
    assert "set data_range = 1 in the manifest" in finding[0].message
    assert "wrong-data-range" not in good.codes()
    assert "data-range-confirmed" in good.codes("info")  # the check image disagreed; real images decide
    assert good.metrics["data_range_check"]["psnr_1"] == pytest.approx(chk["psnr_1"], abs=1e-9)
    assert good.official["valid_ave_psnr"] == pytest.approx(chk["psnr_1"], abs=1e-9)


def test_ambiguous_key_is_a_warning_naming_both(reps):
    r = reps["03_Keys"]
    (f,) = [f for f in r.findings if f.code == "state-dict-key"]
    assert f.severity == "warning"
    assert "'params'" in f.message and "'params_ema'" in f.message and "0.004" in f.message
