"""NTIRE ESR rules, scores, thresholds and rankings against the official result files."""

from __future__ import annotations

import json
import math
import re

import pytest

from bench.cli import main
from challenge.rank import format_results_txt, load_results, rank_teams, ranking_to_json
from challenge.rules import RULES, get_rules, score_terms
from challenge.score import TeamMetrics, metrics_from_official, score_team


@pytest.fixture(scope="module")
def ntire2026(shared):
    return load_results(shared / "reference" / "ntire2026_results.json")


def test_rules_match_reference_yaml(shared):
    import yaml

    ref = yaml.safe_load((shared / "reference" / "ntire_esr_rules.yaml").read_text())["years"]
    for year, rules in RULES.items():
        b = ref[year]["baseline"]
        assert rules.baseline.runtime_ms == b["runtime_ms"]
        assert rules.baseline.params_m == b["params_m"]
        assert rules.baseline.flops_g == b["flops_g"]
        assert rules.psnr_threshold == ref[year].get("psnr_threshold", {})
        assert rules.flops_counter == ("fvcore" if "fvcore" in ref[year]["flops_counter"] else "hook")
    assert set(RULES) == set(ref)


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_baseline_scores_exp2_on_every_term(year):
    r = get_rules(year)
    t = score_terms(r, r.baseline.runtime_ms, r.baseline.flops_g, r.baseline.params_m)
    for k in ("exp_runtime", "exp_flops", "exp_params", "score"):
        assert t[k] == pytest.approx(7.3891, abs=1e-4)
    assert t["score"] == pytest.approx(math.exp(2), rel=1e-12)


_SCORE_FORMULA = re.compile(
    r"Score = ([\d.]+)\*exp\(2\*Runtime/([\d.]+)\) \+ ([\d.]+)\*exp\(2\*FLOPs/([\d.]+)\) "
    r"\+ ([\d.]+)\*exp\(2\*Params/([\d.]+)\)")


def test_score_weights_and_baselines_match_reference_formula(shared):
    import yaml

    ref = yaml.safe_load((shared / "reference" / "ntire_esr_rules.yaml").read_text())["years"]
    for year in (2024, 2025, 2026):
        wt, t0, wf, f0, wp, p0 = map(float, _SCORE_FORMULA.search(ref[year]["score"]).groups())
        r = get_rules(year)
        assert (r.weights.runtime, r.weights.flops, r.weights.params) == (wt, wf, wp), year
        assert (r.baseline.runtime_ms, r.baseline.flops_g, r.baseline.params_m) == (t0, f0, p0), year
    assert not get_rules(2022).has_score and not get_rules(2023).has_score


# Off the baseline point: T = T0/2, F = 1.5*F0, P = 0 give the three different terms e^1, e^3 and e^0,
# so a changed or permuted weight (or a wrong baseline) changes the score. By hand:
# 0.7*2.7182818 + 0.15*20.0855369 + 0.15*1 = 1.9027973 + 3.0128305 + 0.15 = 5.0656278 (2024, 2025)
# 0.8*2.7182818 + 0.10*20.0855369 + 0.10*1 = 2.1746255 + 2.0085537 + 0.10 = 4.2831792 (2026)
@pytest.mark.parametrize("year,expected", [(2024, 5.0656278), (2025, 5.0656278), (2026, 4.2831792)])
def test_score_off_baseline_hand_computed(year, expected):
    r = get_rules(year)
    t = score_terms(r, r.baseline.runtime_ms / 2, 1.5 * r.baseline.flops_g, 0.0)
    assert t["exp_runtime"] == pytest.approx(2.7182818, abs=1e-7)
    assert t["exp_flops"] == pytest.approx(20.0855369, abs=1e-7)
    assert t["exp_params"] == 1.0
    assert t["score"] == pytest.approx(expected, abs=1e-7)
    # only the params term off the baseline: exp(2*2P0/P0) = e^4 = 54.59815; 2024/2025: 0.85*e^2 + 0.15*e^4
    t = score_terms(r, r.baseline.runtime_ms, r.baseline.flops_g, 2 * r.baseline.params_m)
    assert t["score"] == pytest.approx({2026: 0.9 * 7.3890561 + 0.1 * 54.5981500}.get(year, 0.85 * 7.3890561
                                                                                      + 0.15 * 54.5981500), abs=1e-6)


def test_2024_published_team_scores_off_baseline():
    """AGDN paper table 6 (NTIRE 2024) rows scored by hand with the 2024 formula (RTX 3090 figures).

    MViC_SR: T 11.882 ms, F 8.16 G, P 0.138 M -> exp(2*11.882/13.54) = 5.784003, exp(2*8.16/19.67) =
    2.292608, exp(2*0.138/0.317) = 2.388493 -> 0.7*5.784003 + 0.15*2.292608 + 0.15*2.388493 = 4.750967.
    """
    from reports.challenge import challenge_rows, score

    t = score_terms(get_rules(2024), 11.882, 8.16, 0.138)
    assert (t["exp_runtime"], t["exp_flops"], t["exp_params"]) == pytest.approx((5.784003, 2.292608, 2.388493),
                                                                                abs=1e-6)
    assert t["score"] == pytest.approx(4.750967, abs=1e-6)
    assert score(2024, 11.882, 8.16, 0.138) == t["score"]  # the report uses the same rule, not a copy
    rows = challenge_rows([{"team": "MViC_SR", "valid_ave_psnr": 26.90, "test_ave_psnr": 27.00,
                            "valid_ave_runtime": 11.882, "test_ave_runtime": 11.882, "num_parameters": 0.138,
                            "flops": 8.16}], year=2024)
    assert rows[0]["score"] == pytest.approx(4.750967, abs=1e-6) and rows[0]["passes"]


def test_2026_official_scores(ntire2026):
    scores = {ts.name: ts for ts in rank_teams(get_rules(2026), ntire2026).teams}
    expected = {"22_SPANV2_ESR_C2": 3.8689, "16_PKDSR_FINAL_CKPT": 5.9840, "18_DISP": 6.0603, "00_SPAN": 7.3811}
    for name, value in expected.items():
        assert scores[name].score == pytest.approx(value, abs=1e-3)
    # Ave Time is the mean of the raw valid and test means
    span = scores["00_SPAN"].metrics
    assert span.ave_runtime_ms == pytest.approx((8.00402544260025 + 7.468770685791969) / 2, abs=1e-12)


def test_2026_threshold_on_raw_psnr_with_rounding_flag(ntire2026):
    scores = {ts.name: ts for ts in rank_teams(get_rules(2026), ntire2026).teams}
    pds, dscf = scores["01_PDS"], scores["15_DSCF_Fused"]
    assert pds.metrics.valid_psnr == pytest.approx(26.8964, abs=1e-4) and f"{pds.metrics.valid_psnr:.2f}" == "26.90"
    assert dscf.metrics.test_psnr == pytest.approx(26.9856, abs=1e-4) and f"{dscf.metrics.test_psnr:.2f}" == "26.99"
    for ts, split in ((pds, "valid"), (dscf, "test")):
        assert not ts.passes_threshold
        assert ts.passes_only_rounded
        assert ts.failed_splits == [split]
    assert not scores["21_SAFMN"].passes_only_rounded  # fails even when rounded
    assert scores["22_SPANV2_ESR_C2"].passes_threshold and not scores["22_SPANV2_ESR_C2"].passes_only_rounded


def test_2026_ranking_tracks(ntire2026):
    r = rank_teams(get_rules(2026), ntire2026)
    main_track = r.tracks["main (score)"]
    assert [n for _, n, _ in main_track[:3]] == ["22_SPANV2_ESR_C2", "16_PKDSR_FINAL_CKPT", "18_DISP"]
    ranked = {n for _, n, _ in main_track}
    assert "00_SPAN" not in ranked  # baseline is scored, not ranked
    assert not ranked & {"01_PDS", "15_DSCF_Fused", "21_SAFMN", "009_RFDN_SPAN"}
    assert len(main_track) == 8
    assert r.rank_of("sub-track runtime", "18_DISP") == 2
    assert r.rank_of("sub-track FLOPs", "10_HFENet") == 2
    # full orders of the 8 ranked teams, read off the official results.txt columns by hand:
    # FLOPs [G] 1.59 < 8.91 < 9.40 < 10.69 < 16.06 < 19.34 (DWMamba) < 26.61 (HAESR) < 33.40
    # Params [M] 0.139 < 0.144 (HFENet 0.14363) < 0.144 (PKDSR 0.14393) < 0.164 < 0.246 < 0.353 (HAESR) < 0.674 < 1.106
    common = ["22_SPANV2_ESR_C2", "10_HFENet", "16_PKDSR_FINAL_CKPT", "18_DISP", "20_ERRN2"]
    assert [n for _, n, _ in r.tracks["sub-track FLOPs"]] == [*common, "12_DWMamba", "06_HAESR",
                                                              "05_SPANMamba_single_1_4T05"]
    assert [n for _, n, _ in r.tracks["sub-track params"]] == [*common, "06_HAESR", "12_DWMamba",
                                                               "05_SPANMamba_single_1_4T05"]
    # Ave Time [ms] 5.24 < 6.51 (DISP) < 6.80 (PKDSR) < 9.37 < 33.64 < 38.53 < 86.08 < 106.49
    assert [n for _, n, _ in r.tracks["sub-track runtime"]][:3] == ["22_SPANV2_ESR_C2", "18_DISP",
                                                                    "16_PKDSR_FINAL_CKPT"]
    js = ranking_to_json(r)
    row = next(t for t in js["teams"] if t["team"] == "01_PDS")
    assert row["passes_only_rounded"] is True and row["passes_threshold"] is False
    json.dumps(js)


def test_official_results_txt_reproduced_byte_for_byte(shared, ntire2026):
    ref = (shared / "reference" / "ntire2026_results.txt").read_text()
    assert format_results_txt(ntire2026) == ref
    assert "11_VSCINet" in {m.name for m in ntire2026}  # blanks stripped for ranking


def test_2024_baseline_results_file(shared):
    (m,) = load_results(shared / "reference" / "ntire2024_baseline_results.json")
    assert m.name == "00_RLFN_baseline"
    assert m.params_m == pytest.approx(0.317218) and m.flops_g == pytest.approx(19.67485952)
    ts = score_team(get_rules(2024), m)
    assert ts.passes_threshold  # 26.9551 / 27.0695 raw
    # one run's Ave Time (12.21 ms, first image 1033.8 ms included) vs the 5-run official 13.54 ms
    assert m.ave_runtime_ms == pytest.approx((14.942999551296234 + 9.486487839221954) / 2)


def test_rank_sum_years():
    r22 = get_rules(2022)

    def tm(name, psnr, t, p, f, a, mem):
        return TeamMetrics(name, valid_psnr=psnr, test_psnr=28.7, valid_runtime_ms=t, test_runtime_ms=t,
                           params_m=p, flops_g=f, acts_m=a, mem_mib=mem)

    teams = [tm("01_A", 29.00, 27.1, 0.317, 19.7, 80.0, 377.9), tm("02_B", 29.00, 28.1, 0.341, 22.3, 72.1, 204.6),
             tm("03_C", 29.01, 29.9, 0.272, 16.9, 79.6, 576.0), tm("04_D", 28.99999, 10.0, 0.1, 1.0, 1.0, 1.0)]
    r = rank_teams(r22, teams)
    assert [n for _, n, _ in r.tracks["main (runtime)"]] == ["01_A", "02_B", "03_C"]  # 04_D below 29.00 raw
    sub1 = {n: (rank, v) for rank, n, v in r.tracks["sub-track 1 (params + FLOPs)"]}
    assert sub1["03_C"] == (1, 2.0) and sub1["01_A"] == (2, 4.0) and sub1["02_B"] == (3, 6.0)
    overall = r.tracks["sub-track 2 (overall: runtime, params, FLOPs, activations, memory)"]
    # A: 1+2+2+3+2 = 10, B: 2+3+3+1+1 = 10, C: 3+1+1+2+3 = 10 -> a three-way tie
    assert [(rank, v) for rank, _, v in overall] == [(1, 10.0), (1, 10.0), (1, 10.0)]
    with pytest.raises(ValueError, match="rank sums"):
        score_terms(r22, 1, 1, 1)
    with pytest.raises(ValueError, match="known years"):
        get_rules(2019)


def test_cli_rank(shared, tmp_path, capsys):
    txt = tmp_path / "results.txt"
    rc = main(["challenge", "rank", str(shared / "reference" / "ntire2026_results.json"), "--year", "2026",
               "--json", "--txt", str(txt)])
    assert rc == 0
    js = json.loads(capsys.readouterr().out)
    assert js["tracks"]["main (score)"][0] == {"rank": 1, "team": "22_SPANV2_ESR_C2", "value": pytest.approx(3.8689,
                                                                                                            abs=1e-3)}
    assert txt.read_text() == (shared / "reference" / "ntire2026_results.txt").read_text()
    assert main(["challenge", "rank", str(tmp_path / "nothing.json"), "--year", "2026"]) == 2
    assert main(["challenge", "rank", str(txt), "--year", "2026"]) == 2  # not JSON: clean error
    assert "not valid JSON" in capsys.readouterr().err


def test_validation_check_psnr_is_rgb_border_4(tmp_path):
    """The worker's check-image PSNR follows the NTIRE rule (RGB, 4-pixel border, uint8 rounding).

    Recomputed here with :mod:`bench.metrics` from the same check image; border 3 or 5 would differ
    by more than 1e-3 dB on this image, so a changed border in the worker is caught. The check LR and
    the bicubic reference level are the suite's one MATLAB bicubic (bench.data.make_lr /
    bench.imresize.imresize on uint8), never a torch interpolate.
    """
    import numpy as np
    import torch

    from bench.data import make_lr
    from bench.imresize import imresize
    from bench.metrics import prepare, psnr
    from challenge.validate import validate_submission
    from challenge.worker import check_image

    from .challenge_fixtures import make_single

    (rep,) = validate_submission(make_single(tmp_path), timeout_s=60, memory_mb=4096)
    hr, lr = check_image()
    assert hr.shape == (1, 3, 192, 256) and lr.shape == (1, 3, 48, 64)
    hr_u8 = hr[0].permute(1, 2, 0).numpy().astype(np.uint8)
    lr_u8 = lr[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert np.array_equal(lr_u8, make_lr(hr_u8, 4))
    bic = torch.from_numpy(imresize(lr_u8, 4)).permute(2, 0, 1)[None].float()

    def rgb_psnr(border):
        return psnr(prepare(bic[0], "RGB", border), prepare(hr[0], "RGB", border))

    assert rep.metrics["check_psnr_bicubic"] == pytest.approx(rgb_psnr(4), abs=1e-9)
    assert min(abs(rgb_psnr(4) - rgb_psnr(b)) for b in (3, 5)) > 1e-3


def test_score_team_fields_and_non_finite_values():
    m = metrics_from_official("  07_X ", {"valid_ave_psnr": 26.95, "test_ave_psnr": float("nan"),
                                          "valid_ave_runtime": float("inf"), "num_parameters": 0.1, "flops": 5.0})
    assert m.name == "07_X" and m.label == "  07_X "
    assert m.test_psnr is None and m.valid_runtime_ms is None and m.convs is None and m.params_m == 0.1
    ts = score_team(get_rules(2024), m)
    assert not ts.is_baseline and ts.terms == {} and ts.score is None  # no runtime: no score, not an error
    valid = next(c for c in ts.checks if c.split == "valid")
    assert (valid.value, valid.threshold, valid.passes) == (26.95, 26.90, True)
    test = next(c for c in ts.checks if c.split == "test")
    assert (test.value, test.threshold, test.passes, test.passes_display) == (None, 26.99, False, False)
    assert ts.failed_splits == ["test"] and not ts.passes_threshold


@pytest.mark.parametrize("psnr, passes, shown_as_passing", [
    (26.8951, False, True),   # displays as 26.90 but is below the threshold: refused, flagged "displays as"
    (26.86, False, False),    # 26.86 < 26.90 even when displayed (a 1-decimal rounding would show 26.9)
    (26.90, True, True),
])
def test_threshold_display_flag_uses_two_decimals(psnr: float, passes: bool, shown_as_passing: bool):
    m = metrics_from_official("t", {"valid_ave_psnr": psnr, "test_ave_psnr": 27.5})
    valid = next(c for c in score_team(get_rules(2024), m).checks if c.split == "valid")
    assert (valid.passes, valid.passes_display) == (passes, shown_as_passing)
