"""What `esr-bench challenge rank` shows organisers: the `--json` ranking, the ranking text, the loader.

Small hand-built teams in a rank-sum year (2022) and a score year (2026); every key, value, rank and
line is written out here and compared as a whole, so a renamed key, a swapped value or a shifted
column fails. Figures are chosen so each value is computed by hand (2026: runtime 3.87 ms = T0 / 2
gives ``exp(1)``, see the comments).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from challenge.rank import _status, format_ranking, load_results, rank_teams, ranking_to_json
from challenge.rules import get_rules
from challenge.score import TeamMetrics, TeamScore, ThresholdCheck

E, E2 = math.e, math.exp(2.0)


def _teams_2022() -> list[TeamMetrics]:
    # baseline row, two ranked teams, one valid-only (split-missing), one below the raw threshold
    # (28.996 < 29.00, "29.00" on display), one broken record
    return [
        TeamMetrics("00_IMDN", valid_psnr=29.13, test_psnr=28.78, valid_runtime_ms=50.0, test_runtime_ms=52.0,
                    params_m=0.894, flops_g=58.53, acts_m=154.14, mem_mib=471.76, convs=43),
        TeamMetrics("01_A", valid_psnr=29.1, test_psnr=28.8, valid_runtime_ms=10.0, test_runtime_ms=20.0,
                    params_m=0.3, flops_g=20.0, acts_m=80.0, mem_mib=300.0, convs=30),
        TeamMetrics("02_B", valid_psnr=29.0, test_psnr=28.7, valid_runtime_ms=8.0, test_runtime_ms=12.0,
                    params_m=0.4, flops_g=10.0, acts_m=90.0, mem_mib=200.0, convs=20),
        TeamMetrics("03_C", valid_psnr=29.2, valid_runtime_ms=5.0, params_m=0.1, flops_g=5.0, acts_m=10.0,
                    mem_mib=50.0),
        TeamMetrics("04_D", valid_psnr=28.996, test_psnr=28.9, valid_runtime_ms=6.0, test_runtime_ms=6.0,
                    params_m=0.2, flops_g=8.0, acts_m=40.0, mem_mib=100.0),
        TeamMetrics("05_E", status="broken", message="forward-error: boom"),
    ]


def _row(m: TeamMetrics, **over):
    """The JSON row of ``m`` with the defaults of a team that is neither scored nor checked."""
    row = {
        "team": m.name, "status": m.status, "message": m.message, "is_baseline": False,
        "valid_psnr": m.valid_psnr, "test_psnr": m.test_psnr, "valid_runtime_ms": m.valid_runtime_ms,
        "test_runtime_ms": m.test_runtime_ms, "ave_runtime_ms": None, "ave_time_splits": ["valid", "test"],
        "ave_time_official": True, "unranked": "", "params_m": m.params_m, "flops_g": m.flops_g,
        "acts_m": m.acts_m, "mem_mib": m.mem_mib, "convs": m.convs,
    }
    row.update(over)
    return row


def _check(split, value, threshold, passes, display):
    return {"split": split, "value": value, "threshold": threshold, "passes": passes, "passes_display": display}


def test_ranking_json_rank_sum_year_whole_structure():
    teams = _teams_2022()
    js = ranking_to_json(rank_teams(get_rules(2022), teams))
    a, b, c, d, e = teams[1:]
    unranked_c = ("timed on valid only, other teams on valid + test: its Ave Time is not comparable "
                  "(split-missing)")
    tail = {"passes_threshold": True, "passes_only_rounded": False}
    expected_teams = [
        _row(teams[0], is_baseline=True, ave_runtime_ms=51.0, **tail,
             threshold_checks=[_check("valid", 29.13, 29.0, True, True)]),
        _row(a, ave_runtime_ms=15.0, **tail, threshold_checks=[_check("valid", 29.1, 29.0, True, True)]),
        _row(b, ave_runtime_ms=10.0, **tail, threshold_checks=[_check("valid", 29.0, 29.0, True, True)]),
        _row(c, ave_runtime_ms=5.0, ave_time_splits=["valid"], ave_time_official=False, unranked=unranked_c,
             **tail, threshold_checks=[_check("valid", 29.2, 29.0, True, True)]),
        # fails on the raw PSNR, passes on the 2-decimal display: flagged, not ranked
        _row(d, ave_runtime_ms=6.0, passes_threshold=False, passes_only_rounded=True,
             threshold_checks=[_check("valid", 28.996, 29.0, False, True)]),
        _row(e, ave_time_splits=[], ave_time_official=False, passes_threshold=False, passes_only_rounded=False,
             threshold_checks=[_check("valid", None, 29.0, False, False)]),
    ]
    # ranked: A and B only. runtime A 15 > B 10; params A 0.3 (1) B 0.4 (2), FLOPs A 20 (2) B 10 (1): 3 each;
    # overall: runtime 2/1, params 1/2, FLOPs 2/1, acts 80 (1) / 90 (2), memory 300 (2) / 200 (1): A 8, B 7
    expected = {
        "kind": "challenge_ranking",
        "year": 2022,
        "protocol": {
            "score": "rank sums",
            "threshold": "raw PSNR (not the 2-decimal display)",
            "ave_time": "(valid mean + test mean) / 2; a team timed on one split: that split's mean "
                        "(ave_time_splits), listed unranked beside teams timed on both",
            "baseline": "IMDN",
        },
        "teams": expected_teams,
        "tracks": {
            "main (runtime)": [{"rank": 1, "team": "02_B", "value": 10.0}, {"rank": 2, "team": "01_A", "value": 15.0}],
            "sub-track 1 (params + FLOPs)": [{"rank": 1, "team": "01_A", "value": 3.0},
                                             {"rank": 1, "team": "02_B", "value": 3.0}],
            "sub-track 2 (overall: runtime, params, FLOPs, activations, memory)": [
                {"rank": 1, "team": "02_B", "value": 7.0}, {"rank": 2, "team": "01_A", "value": 8.0}],
        },
    }
    assert js == expected
    assert list(js["teams"][1]) == list(expected_teams[1])  # key order as written (the --json file reads so)
    assert json.loads(json.dumps(js)) == expected  # plain JSON: no tuples, no non-finite numbers


def _teams_2026() -> list[TeamMetrics]:
    # 2026 baseline T0 7.74 ms, F0 9.83 G, P0 0.151 M; weights 0.8 / 0.1 / 0.1; threshold valid 26.90, test 26.99
    return [
        TeamMetrics("00_SPAN", valid_psnr=26.94, test_psnr=27.01, valid_runtime_ms=7.74, test_runtime_ms=7.74,
                    params_m=0.151, flops_g=9.83),  # exp(2) on every term
        # runtime 3.87 -> exp(1); FLOPs 4.915 -> exp(1); params 0.151 -> exp(2)
        TeamMetrics("01_A", valid_psnr=27.0, test_psnr=27.1, valid_runtime_ms=3.87, test_runtime_ms=3.87,
                    params_m=0.151, flops_g=4.915, acts_m=20.0, mem_mib=100.0, convs=10),
        # runtime 7.74 -> exp(2); FLOPs 0 -> exp(0) = 1; params 0.0755 -> exp(1)
        TeamMetrics("02_B", valid_psnr=26.95, test_psnr=27.0, valid_runtime_ms=7.74, test_runtime_ms=7.74,
                    params_m=0.0755, flops_g=0.0),
        # valid 26.8964 < 26.90 raw ("26.90" on display); test fine
        TeamMetrics("03_C", valid_psnr=26.8964, test_psnr=27.0, valid_runtime_ms=1.0, test_runtime_ms=1.0,
                    params_m=0.01, flops_g=0.5),
        TeamMetrics("04_D", valid_runtime_ms=2.0, test_runtime_ms=2.0, params_m=0.1, flops_g=1.0,
                    status="incomplete", message="no PSNR in record (validated without --data?)"),
    ]


def _terms(rt, fl, pa):
    return {"exp_runtime": rt, "exp_flops": fl, "exp_params": pa, "score": 0.8 * rt + 0.1 * fl + 0.1 * pa}


def test_ranking_json_score_year_whole_structure():
    teams = _teams_2026()
    js = ranking_to_json(rank_teams(get_rules(2026), teams))
    base, a, b, c, d = teams
    ok = {"passes_threshold": True, "passes_only_rounded": False}
    e_c = math.exp(2.0 * 1.0 / 7.74), math.exp(2.0 * 0.5 / 9.83), math.exp(2.0 * 0.01 / 0.151)
    expected_teams = [
        _row(base, is_baseline=True, ave_runtime_ms=7.74, **_terms(E2, E2, E2), **ok,
             threshold_checks=[_check("valid", 26.94, 26.9, True, True), _check("test", 27.01, 26.99, True, True)]),
        _row(a, ave_runtime_ms=3.87, **_terms(E, E, E2), **ok,
             threshold_checks=[_check("valid", 27.0, 26.9, True, True), _check("test", 27.1, 26.99, True, True)]),
        _row(b, ave_runtime_ms=7.74, **_terms(E2, 1.0, E), **ok,
             threshold_checks=[_check("valid", 26.95, 26.9, True, True), _check("test", 27.0, 26.99, True, True)]),
        _row(c, ave_runtime_ms=1.0, **_terms(*e_c), passes_threshold=False, passes_only_rounded=True,
             threshold_checks=[_check("valid", 26.8964, 26.9, False, True),
                               _check("test", 27.0, 26.99, True, True)]),
        # not ok: no score terms at all (no "score" key), checks still listed
        _row(d, ave_runtime_ms=2.0, passes_threshold=False, passes_only_rounded=False,
             threshold_checks=[_check("valid", None, 26.9, False, False), _check("test", None, 26.99, False, False)]),
    ]
    sa, sb = 0.8 * E + 0.1 * E + 0.1 * E2, 0.8 * E2 + 0.1 * 1.0 + 0.1 * E  # 3.18536 < 6.28307
    expected = {
        "kind": "challenge_ranking",
        "year": 2026,
        "protocol": {
            "score": "weighted exponentials of raw Ave Time/FLOPs/params vs baseline",
            "threshold": "raw PSNR (not the 2-decimal display)",
            "ave_time": "(valid mean + test mean) / 2; a team timed on one split: that split's mean "
                        "(ave_time_splits), listed unranked beside teams timed on both",
            "baseline": "SPAN (ch 28)",
        },
        "teams": expected_teams,
        "tracks": {
            "main (score)": [{"rank": 1, "team": "01_A", "value": sa}, {"rank": 2, "team": "02_B", "value": sb}],
            "sub-track runtime": [{"rank": 1, "team": "01_A", "value": E}, {"rank": 2, "team": "02_B", "value": E2}],
            "sub-track FLOPs": [{"rank": 1, "team": "02_B", "value": 1.0}, {"rank": 2, "team": "01_A", "value": E}],
            "sub-track params": [{"rank": 1, "team": "02_B", "value": E}, {"rank": 2, "team": "01_A", "value": E2}],
        },
    }
    assert js == expected
    assert sa == pytest.approx(3.18536, abs=1e-5) and sb == pytest.approx(6.28307, abs=1e-5)
    assert list(js["teams"][1])[17:21] == ["exp_runtime", "exp_flops", "exp_params", "score"]
    assert json.loads(json.dumps(js)) == expected


# ------------------------------------------------------------------------------------- the ranking text

HEAD = "team                          val PSNR test PSNR    ave ms  params M   FLOPs G      score  status"
SPLIT_MISSING = ("not ranked: timed on valid only, other teams on valid + test: its Ave Time is not comparable "
                 "(split-missing)")


def test_ranking_text_rank_sum_year_whole_string():
    # PSNR, params, FLOPs 4 decimals; ave ms 3; a missing cell is "-" right-aligned like the column's numbers
    expected = "\n".join([
        "NTIRE 2022 ESR (ofsoundof/NTIRE2022_ESR); baseline IMDN; threshold (raw PSNR): valid >= 29.00 dB",
        "note: test LR files carry no x4 suffix (0901.png)",
        "",
        HEAD,
        "00_IMDN                        29.1300   28.7800    51.000    0.8940   58.5300          -  baseline (not ranked)",
        "01_A                           29.1000   28.8000    15.000    0.3000   20.0000          -  ok",
        "02_B                           29.0000   28.7000    10.000    0.4000   10.0000          -  ok",
        "03_C                           29.2000         -     5.000    0.1000    5.0000          -  " + SPLIT_MISSING,
        "04_D                           28.9960   28.9000     6.000    0.2000    8.0000          -  below threshold "
        "(valid 28.9960 < 29.00, passes only when rounded to 2 decimals)",
        "05_E                                 -         -         -         -         -          -  broken: forward-error: boom",
        "",
        "[main (runtime)]",
        "  1  02_B                         10.0000",
        "  2  01_A                         15.0000",
        "",
        "[sub-track 1 (params + FLOPs)]",
        "  1  01_A                         3.0000",
        "  1  02_B                         3.0000",
        "",
        "[sub-track 2 (overall: runtime, params, FLOPs, activations, memory)]",
        "  1  02_B                         7.0000",
        "  2  01_A                         8.0000",
    ]) + "\n"
    assert format_ranking(rank_teams(get_rules(2022), _teams_2022())) == expected


def test_ranking_text_score_year_whole_string():
    # scores: baseline exp(2) = 7.3891; A 0.9 e + 0.1 e^2 = 3.1854; B 0.8 e^2 + 0.1 + 0.1 e = 6.2831;
    # C exp(2/7.74) 1.2949 * 0.8 + exp(1/9.83) 1.1071 * 0.1 + exp(0.02/0.151) 1.1416 * 0.1 = 1.2608
    expected = "\n".join([
        "NTIRE 2026 ESR (Amazingren/NTIRE2026_ESR); baseline SPAN (ch 28); threshold (raw PSNR): valid >= 26.90 dB, "
        "test >= 26.99 dB",
        "",
        HEAD,
        "00_SPAN                        26.9400   27.0100     7.740    0.1510    9.8300     7.3891  baseline (not ranked)",
        "01_A                           27.0000   27.1000     3.870    0.1510    4.9150     3.1854  ok",
        "02_B                           26.9500   27.0000     7.740    0.0755    0.0000     6.2831  ok",
        "03_C                           26.8964   27.0000     1.000    0.0100    0.5000     1.2608  below threshold "
        "(valid 26.8964 < 26.90, passes only when rounded to 2 decimals)",
        "04_D                                 -         -     2.000    0.1000    1.0000          -  "
        "incomplete: no PSNR in record (validated without --data?)",
        "",
        "[main (score)]",
        "  1  01_A                         3.1854",
        "  2  02_B                         6.2831",
        "",
        "[sub-track runtime]",
        "  1  01_A                         2.7183",
        "  2  02_B                         7.3891",
        "",
        "[sub-track FLOPs]",
        "  1  02_B                         1.0000",
        "  2  01_A                         2.7183",
        "",
        "[sub-track params]",
        "  1  02_B                         2.7183",
        "  2  01_A                         7.3891",
    ]) + "\n"
    assert format_ranking(rank_teams(get_rules(2026), _teams_2026())) == expected


def test_ranking_text_when_no_team_is_eligible_counts_every_team():
    # 7 teams = 2 broken (any status but ok / incomplete) + 2 below threshold + 1 without PSNR + 1 baseline
    # + 1 timed on other splits: 04_D passes but is timed on valid only while 05_E (below threshold) has both
    T = TeamMetrics
    teams = [
        T("00_RLFN", valid_psnr=26.96, test_psnr=27.07, valid_runtime_ms=13.0, test_runtime_ms=14.0, params_m=0.317,
          flops_g=19.67),
        T("01_A", status="broken"),
        T("02_B", valid_runtime_ms=3.0, test_runtime_ms=3.0, status="incomplete", message="no PSNR"),
        T("03_C", valid_psnr=26.5, valid_runtime_ms=3.0, test_runtime_ms=4.0, params_m=0.1, flops_g=2.0),
        T("04_D", valid_psnr=27.0, test_psnr=27.0, valid_runtime_ms=2.0, params_m=0.1, flops_g=2.0),
        T("05_E", valid_psnr=26.95, test_psnr=26.98, valid_runtime_ms=2.0, test_runtime_ms=2.0, params_m=0.1,
          flops_g=2.0),
        T("06_F", valid_psnr=28.0, test_psnr=28.0, status="unknown", message="the record has no status"),
    ]
    # 2024: T0 13.54, F0 19.67, P0 0.317, weights 0.7 / 0.15 / 0.15. RLFN: 0.7 exp(27/13.54) + 0.3 exp(2) = 7.3586;
    # C: 0.7 exp(7/13.54) + 0.15 exp(4/19.67) + 0.15 exp(0.2/0.317) = 1.6396; D, E (2 ms): 1.4063
    expected = "\n".join([
        "NTIRE 2024 ESR (Amazingren/NTIRE2024_ESR); baseline RLFN; threshold (raw PSNR): valid >= 26.90 dB, "
        "test >= 26.99 dB",
        "",
        HEAD,
        "00_RLFN                        26.9600   27.0700    13.500    0.3170   19.6700     7.3586  baseline (not ranked)",
        "01_A                                 -         -         -         -         -          -  broken",
        "02_B                                 -         -     3.000         -         -          -  incomplete: no PSNR",
        "03_C                           26.5000         -     3.500    0.1000    2.0000     1.6396  below threshold "
        "(valid 26.5000 < 26.90, test PSNR missing)",
        "04_D                           27.0000   27.0000     2.000    0.1000    2.0000     1.4063  " + SPLIT_MISSING,
        "05_E                           26.9500   26.9800     2.000    0.1000    2.0000     1.4063  below threshold "
        "(test 26.9800 < 26.99)",
        "06_F                           28.0000   28.0000         -         -         -          -  "
        "unknown: the record has no status",
        "",
        "no team is eligible for ranking: 7 team(s), 2 broken, 2 below threshold, 1 without PSNR (run with --data), "
        "1 baseline, 1 timed on other splits",
        "",
        "[main (score)]",
        "",
        "[sub-track runtime]",
        "",
        "[sub-track FLOPs]",
        "",
        "[sub-track params]",
    ]) + "\n"
    assert format_ranking(rank_teams(get_rules(2024), teams)) == expected


def test_ranking_text_without_a_recorded_threshold_and_no_tracks():
    # 2023 has no threshold on record: "none on record", its note; a Ranking without tracks prints no
    # "no team is eligible" line (nothing was asked to be ranked)
    from challenge.rank import Ranking
    from challenge.score import score_team

    rules = get_rules(2023)
    ts = score_team(rules, TeamMetrics("01_A", valid_psnr=29.0))
    text = format_ranking(Ranking(rules=rules, teams=[ts]))
    assert text == "\n".join([
        "NTIRE 2023 ESR (ofsoundof/NTIRE2023_ESR); baseline RFDN; threshold (raw PSNR): none on record",
        "note: no PSNR threshold recorded in the rules on file; threshold not checked",
        "",
        HEAD,
        "01_A                           29.0000         -         -         -         -          -  ok",
    ]) + "\n"


def _ts(status="ok", message="", checks=(), baseline=False, unranked=""):
    return TeamScore(metrics=TeamMetrics("01_A", status=status, message=message), checks=list(checks),
                     is_baseline=baseline, unranked=unranked)


def _chk(split, value, thr):
    return ThresholdCheck(split, value, thr, passes=value is not None and value >= thr,
                          passes_display=value is not None and round(value, 2) >= thr)


def test_status_text_of_every_status():
    assert _status(_ts()) == "ok"
    assert _status(_ts(checks=[_chk("valid", 26.9, 26.9)])) == "ok"  # equal to the threshold passes
    assert _status(_ts("broken", "forward-error: boom")) == "broken: forward-error: boom"
    assert _status(_ts("broken")) == "broken"  # no message: no dangling colon
    assert _status(_ts("unknown", "the record has no status", baseline=True)) == "unknown: the record has no status"
    assert _status(_ts(baseline=True)) == "baseline (not ranked)"
    assert _status(_ts(baseline=True, checks=[_chk("valid", 20.0, 26.9)])) == "baseline (not ranked)"
    assert _status(_ts(unranked="timed on valid only")) == "not ranked: timed on valid only"
    assert _status(_ts(checks=[_chk("valid", 26.8, 26.9), _chk("test", 26.5, 26.99)])) == (
        "below threshold (valid 26.8000 < 26.90, test 26.5000 < 26.99)")
    assert _status(_ts(checks=[_chk("valid", 27.0, 26.9), _chk("test", 26.98, 26.99)])) == (
        "below threshold (test 26.9800 < 26.99)")  # the passing split is not listed
    assert _status(_ts(checks=[_chk("valid", None, 26.9), _chk("test", None, 26.99)])) == (
        "below threshold (valid PSNR missing, test PSNR missing)")
    assert _status(_ts(checks=[_chk("valid", 26.8964, 26.9), _chk("test", 27.0, 26.99)])) == (
        "below threshold (valid 26.8964 < 26.90, passes only when rounded to 2 decimals)")
    # one split only rounds up, the other fails on display too: no "passes only when rounded"
    assert _status(_ts(checks=[_chk("valid", 26.8964, 26.9), _chk("test", 26.5, 26.99)])) == (
        "below threshold (valid 26.8964 < 26.90, test 26.5000 < 26.99)")


# ------------------------------------------------------------------------------------------- the loader

_FIG = {"valid_ave_psnr": 29.1, "test_ave_psnr": 28.8, "valid_ave_runtime": 10.0, "test_ave_runtime": 20.0,
        "num_parameters": 0.3, "flops": 20.0, "activations": 80.0, "valid_memory": 300.0, "num_conv": 30}


def _write(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


def _rows(ms: list[TeamMetrics]):
    return [(m.name, m.label, m.status, m.message, m.valid_psnr, m.ave_runtime_ms, m.convs) for m in ms]


def test_load_results_folder_of_records_skips_other_kinds(tmp_path):
    _write(tmp_path / "b.json", {"kind": "challenge", "team": "02_B", "status": "broken", "message": "crash: x",
                                 "official": {**_FIG, "valid_ave_psnr": None}})
    _write(tmp_path / "a.json", {"kind": "challenge", "model": "01_A", "status": "ok", "official": _FIG})
    _write(tmp_path / "03_C.json", {"kind": "challenge", "status": "ok", "official": {**_FIG, "num_conv": 7}})
    _write(tmp_path / "runtime.json", {"kind": "runtime", "model": "rlfn", "official": _FIG})  # another kind
    _write(tmp_path / "list.json", [1, 2])  # not a record
    _write(tmp_path / "empty.json", {})
    _write(tmp_path / "partial.json", {"x": {"valid_ave_psnr": 29.0}, "y": _FIG})  # not every entry official
    _write(tmp_path / "notes.txt", "not json")  # only *.json is read
    ms = load_results(tmp_path)
    # sorted file order (03_C, a, b); a name from "team", else "model", else the file stem
    assert _rows(ms) == [("03_C", "03_C", "ok", "", 29.1, 15.0, 7),
                         ("01_A", "01_A", "ok", "", 29.1, 15.0, 30),
                         ("02_B", "02_B", "broken", "crash: x", None, 15.0, 30)]


def test_load_results_output_root_reads_its_challenge_subfolder(tmp_path):
    _write(tmp_path / "challenge" / "01_A.json", {"kind": "challenge", "team": "01_A", "status": "ok",
                                                   "official": _FIG})
    _write(tmp_path / "00_X.json", {"kind": "challenge", "team": "00_X", "status": "ok", "official": _FIG})
    assert [m.name for m in load_results(tmp_path)] == ["01_A"]  # the root's own JSON is not a record
    # a file named "challenge" is no records folder: the root is read
    other = tmp_path / "other"
    _write(other / "challenge", "x")
    _write(other / "01_B.json", {"kind": "challenge", "team": "01_B", "status": "ok", "official": _FIG})
    assert [m.name for m in load_results(other)] == ["01_B"]


def test_load_results_official_results_json_in_a_folder_and_as_a_file(tmp_path):
    official = {"  01_A": _FIG, "02_B": {**_FIG, "valid_ave_runtime": 30.0, "test_ave_runtime": None,
                                         "num_conv": None}}
    for path in (_write(tmp_path / "dir" / "results.json", official), _write(tmp_path / "results.json", official)):
        ms = load_results(path.parent if path.parent.name == "dir" else path)
        assert _rows(ms) == [("01_A", "  01_A", "ok", "", 29.1, 15.0, 30), ("02_B", "02_B", "ok", "", 29.1, 30.0, None)]
        assert ms[1].ave_time_splits == ("valid",)
    # one record file given directly: the record, named by its team, else model, else the file stem
    rec = {"kind": "challenge", "status": "ok", "official": _FIG}
    assert _rows(load_results(_write(tmp_path / "r1.json", {**rec, "team": "07_T", "model": "m"}))) == [
        ("07_T", "07_T", "ok", "", 29.1, 15.0, 30)]
    assert [m.name for m in load_results(_write(tmp_path / "r2.json", {**rec, "model": "08_M"}))] == ["08_M"]
    assert [m.name for m in load_results(_write(tmp_path / "09_S.json", rec))] == ["09_S"]
    assert load_results(_write(tmp_path / "none.json", {})) == []  # an official file with no team
    # an entry with the three required fields and nothing else is official (a file, and in a folder)
    bare = {"03_C": {"valid_ave_psnr": 29.0, "num_parameters": 0.2, "flops": 3.0}}
    for src in (_write(tmp_path / "bare.json", bare), _write(tmp_path / "bare" / "results.json", bare).parent):
        assert [(m.name, m.valid_psnr, m.params_m, m.flops_g, m.test_psnr) for m in load_results(src)] == [
            ("03_C", 29.0, 0.2, 3.0, None)]


def test_load_results_empty_missing_corrupt_and_wrong_format(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"^no \*\.json challenge records in .*empty$"):
        load_results(tmp_path / "empty")
    (tmp_path / "root" / "challenge").mkdir(parents=True)
    _write(tmp_path / "root" / "x.json", {"kind": "challenge", "team": "01_A", "official": _FIG})
    with pytest.raises(FileNotFoundError, match=r"^no \*\.json challenge records in .*root[/\\]challenge$"):
        load_results(tmp_path / "root")
    with pytest.raises(FileNotFoundError, match=r"nope\.json: no such results file or directory$"):
        load_results(tmp_path / "nope.json")

    bad = _write(tmp_path / "recs" / "05_E.json", '{"kind": "challenge", "team": ')
    _write(tmp_path / "recs" / "01_A.json", {"kind": "challenge", "team": "01_A", "official": _FIG})
    with pytest.raises(ValueError, match=r"05_E\.json: corrupt JSON record \(Expecting value: line 1 .*\); "
                                         r"delete it and re-run that team$") as exc:
        load_results(tmp_path / "recs")
    assert str(exc.value).startswith(str(bad))
    with pytest.raises(ValueError, match=r"05_E\.json: not valid JSON \(Expecting value"):
        load_results(bad)
    # bytes that are not UTF-8 (a truncated copy, a binary renamed .json): the same message, with the path
    (tmp_path / "bin").mkdir()
    binary = tmp_path / "bin" / "06_F.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match=r"06_F\.json: corrupt JSON record \(.*utf-8.*\); delete it"):
        load_results(tmp_path / "bin")
    with pytest.raises(ValueError, match=r"06_F\.json: not valid JSON \(.*utf-8"):
        load_results(binary)

    fmt = r"expected the official results\.json format \{team: \{valid_ave_psnr: \.\.\.\}\}$"
    for name, data in (("list", [1, 2]), ("flat", {"01_A": 29.1}), ("kind", {"kind": "runtime", "x": {}})):
        with pytest.raises(ValueError, match=rf"{name}\.json: {fmt}"):
            load_results(_write(tmp_path / f"{name}.json", data))
    lacking = {f"0{i}_T": {"valid_ave_psnr": 29.0} for i in range(1, 7)}  # six teams without params / FLOPs
    with pytest.raises(ValueError) as exc:
        load_results(_write(tmp_path / "six.json", {"00_OK": _FIG, **lacking}))
    assert str(exc.value) == (f"{tmp_path / 'six.json'}: entries ['01_T', '02_T', '03_T', '04_T', '05_T'] lack "
                              "['flops', 'num_parameters', 'valid_ave_psnr'] (not an official results.json)")


def test_unranked_reason_of_a_team_timed_on_no_split():
    untimed = TeamMetrics("02_U", valid_psnr=29.1, params_m=0.1, flops_g=1.0)
    r = rank_teams(get_rules(2023), [*_teams_2022()[1:3], untimed])
    assert r.teams[2].unranked == ("timed on no split only, other teams on valid + test: its Ave Time is not "
                                   "comparable (split-missing)")
    assert r.tracks["model complexity (params + FLOPs)"] == [(1, "01_A", 3.0), (1, "02_B", 3.0)]


def test_a_score_that_overflows_ranks_last_and_stays_strict_json() -> None:
    """2026: a 3,000 ms Ave Time is 388x the baseline's 7.74 ms: exp(775) overflows a float. The team gets an
    infinite score (numpy's exp gives inf too), ranks last, and the JSON writes null plus "overflow"."""
    from challenge.rank import rank_teams, ranking_to_json
    from challenge.rules import get_rules, score_terms
    from challenge.score import metrics_from_official

    rules = get_rules(2026)
    terms = score_terms(rules, 3000.0, 9.83, 0.151)
    assert terms["exp_runtime"] == math.inf and terms["score"] == math.inf
    assert terms["exp_flops"] == pytest.approx(math.exp(2)) and terms["exp_params"] == pytest.approx(math.exp(2))

    def team(name: str, t: float) -> object:
        return metrics_from_official(name, {"valid_ave_psnr": 27.0, "test_ave_psnr": 27.1, "valid_ave_runtime": t,
                                            "test_ave_runtime": t, "num_parameters": 0.151, "flops": 9.83})

    ranking = rank_teams(rules, [team("01_slow", 3000.0), team("02_fast", 7.74)])
    assert [(rank, name) for rank, name, _ in ranking.tracks["main (score)"]] == [(1, "02_fast"), (2, "01_slow")]
    data = json.loads(json.dumps(ranking_to_json(ranking), allow_nan=False))
    slow = next(t for t in data["teams"] if t["team"] == "01_slow")
    assert slow["score"] is None and slow["exp_runtime"] is None and slow["overflow"] == ["exp_runtime", "score"]
    assert "overflow" not in next(t for t in data["teams"] if t["team"] == "02_fast")
    assert data["tracks"]["main (score)"][1] == {"rank": 2, "team": "01_slow", "value": None}
