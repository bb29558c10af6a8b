"""The figures of a challenge record and the ranking built on them, against hand-computed values.

Counting (2022/2023 hook FLOPs, activations, convs; 2024+ fvcore), the official timing loop's per-split
mean and Ave Time (fake timer values), a missing test split, the rank-sum tracks (memory deciding an
order) and the report's reading of records (one formatter, no aliases, no defaults that pass a team).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from challenge.findings import WARNING
from challenge.rank import format_results_txt, load_results, metrics_from_record, rank_teams, ranking_to_json
from challenge.rules import get_rules
from challenge.score import TeamMetrics, metrics_from_official
from challenge.worker import Checks, _count, _Stop

from .challenge_fixtures import write_offset_data
from .test_runtime import FakeTimer  # each timed call takes the next scripted duration (ms)

# ------------------------------------------------------------------------------------------- counting


class CountNet(nn.Module):
    """conv 3->4 (3x3), BN(4), ReLU, conv 4->48 (3x3), PixelShuffle(4): every kind of hook count."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.ReLU()
        self.tail = nn.Conv2d(4, 48, 3, padding=1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x):
        return self.up(self.tail(self.act(self.bn(self.head(x)))))


# By hand on 1x3x256x256 (65,536 positions):
#   head conv  3*3 * 3 * 4  * 65,536 =   7,077,888 MACs, output 4*65,536 = 262,144 elements
#   BN (affine, counted twice)  2 * 4 * 65,536 = 524,288   (hook rule; fvcore eval-mode batch_norm: the same)
#   ReLU output.numel()             4 * 65,536 = 262,144   (hook rule only; fvcore ignores relu)
#   tail conv  3*3 * 4 * 48 * 65,536 = 113,246,208 MACs, output 48*65,536 = 3,145,728 elements
HOOK_FLOPS = 7_077_888 + 524_288 + 262_144 + 113_246_208  # 121,110,528 -> 0.121110528 G
CONV_MACS = 7_077_888 + 113_246_208  # 120,324,096 (what a conv-only figure would give)
FVCORE_FLOPS = 7_077_888 + 524_288 + 113_246_208  # 120,848,384 -> 0.120848384 G
ACTIVATIONS = 262_144 + 3_145_728  # 3,407,872 -> 3.407872 M


def _counted(tmp_path: Path, year: int, measure: str = "official") -> Checks:
    c = Checks({"year": year, "measure": measure, "entry": {"root": str(tmp_path)}}, tmp_path / "stage")
    model = CountNet().eval()
    _count(c, model, {"data_range": 1.0, "root": str(tmp_path)})
    return c


@pytest.mark.parametrize("year", [2022, 2023])
def test_hook_years_record_hand_counted_flops_activations_convs(tmp_path, year):
    c = _counted(tmp_path, year)
    assert HOOK_FLOPS == 121_110_528 and ACTIVATIONS == 3_407_872
    assert c.official["flops"] == pytest.approx(0.121110528, abs=1e-12)  # hook FLOPs, BN and ReLU included
    assert c.official["flops"] != pytest.approx(CONV_MACS / 1e9, abs=1e-6)
    assert c.official["activations"] == pytest.approx(3.407872, abs=1e-12)
    assert c.official["num_conv"] == 2
    assert c.metrics["conv_macs_lr256"] == CONV_MACS and c.metrics["ntire22_hook_flops_lr256"] == HOOK_FLOPS
    assert "fvcore_flops_lr256" not in c.metrics  # "official" measure: only the year's counter
    assert not c.findings


@pytest.mark.parametrize("year", [2024, 2026])
def test_fvcore_years_record_fvcore_flops(tmp_path, year):
    c = _counted(tmp_path, year)
    assert c.official["flops"] == pytest.approx(0.120848384, abs=1e-12)  # fvcore: BN counted, ReLU not
    assert c.metrics["fvcore_flops_lr256"] == FVCORE_FLOPS
    assert c.official["activations"] == pytest.approx(3.407872, abs=1e-12) and c.official["num_conv"] == 2
    full = _counted(tmp_path, 2022, measure="full")  # both counters; the 2022 headline stays the hook figure
    assert full.official["flops"] == pytest.approx(0.121110528, abs=1e-12)
    assert full.metrics["fvcore_flops_lr256"] == FVCORE_FLOPS


# ------------------------------------------------------------------------------ timing loop, Ave Time


class BicubicPlus(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, x):
        return F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False) + self.bias


@pytest.fixture
def ntire_data(tmp_path):
    root = tmp_path / "data"
    write_offset_data(root, n=3)  # valid: 3 images, test: 1 image (NTIRE 2024-2026 layout)
    return root


def _evaluate(tmp_path, monkeypatch, data, times, year=2026):
    import bench.runtime.timers as timers
    from challenge.evaluate import evaluate_submission

    timer = FakeTimer(times)
    monkeypatch.setattr(timers, "default_timer", lambda device, mode: timer if mode == "ntire" else None)
    entry = {"data_range": 1.0, "root": str(tmp_path)}
    job = {"year": year, "data": str(data), "measure": "official", "entry": entry}
    c = Checks(job, tmp_path / "stage")
    evaluate_submission(c, BicubicPlus(), entry, job)
    return c, timer


def test_per_split_mean_and_ave_time_from_fake_timer_values(tmp_path, monkeypatch, ntire_data):
    # valid 1, 2, 9 ms -> mean 4 (median 2); test 6 ms -> 6; Ave Time (4 + 6) / 2 = 5
    # (a median would give (2 + 6) / 2 = 4, a mean pooled over the 4 images 4.5)
    c, timer = _evaluate(tmp_path, monkeypatch, ntire_data, [1.0, 2.0, 9.0, 6.0])
    assert timer.calls == 4
    assert c.official["valid_runtime"] == [1.0, 2.0, 9.0] and c.official["test_runtime"] == [6.0]
    assert c.official["valid_ave_runtime"] == 4.0 and c.official["test_ave_runtime"] == 6.0
    assert c.official["splits"] == ["valid", "test"]
    assert len(c.official["valid_psnr"]) == 3 and c.official["valid_memory"] is None  # CPU: no CUDA Mem
    m = metrics_from_official("01_X", c.official)
    assert m.ave_runtime_ms == 5.0 and m.ave_time_official
    assert not [f for f in c.findings if f.code == "split-missing"]


def test_missing_test_split_is_a_finding_and_ave_time_says_so(tmp_path, monkeypatch, ntire_data):
    for sub in ("DIV2K_LSDIR_test_HR", "DIV2K_LSDIR_test_LR"):
        shutil.rmtree(ntire_data / sub)
    c, _ = _evaluate(tmp_path, monkeypatch, ntire_data, [1.0, 2.0, 9.0])
    (f,) = [f for f in c.findings if f.code == "split-missing"]
    assert f.severity == WARNING and "test split" in f.message and "not the official" in f.message
    assert c.official["splits"] == ["valid"] and "test_ave_runtime" not in c.official
    m = metrics_from_official("01_X", c.official)
    assert m.ave_runtime_ms == 4.0 and m.ave_time_splits == ("valid",) and not m.ave_time_official


def test_evaluation_without_a_year_is_refused(tmp_path, monkeypatch, ntire_data):
    with pytest.raises(_Stop):
        _evaluate(tmp_path, monkeypatch, ntire_data, [1.0] * 4, year=None)


def test_time_per_image_consumes_each_output_outside_the_timer():
    from bench.runtime.timers import time_per_image

    seen = []
    timer = FakeTimer([3.0, 5.0])
    times = time_per_image(lambda x: x * 2, [1, 2], timer, consume=lambda i, out: seen.append((i, out)))
    assert times == [3.0, 5.0] and seen == [(0, 2), (1, 4)]


def test_ntire_mem_is_absolute_max_allocated_in_mib(monkeypatch):
    from bench.runtime import memory

    monkeypatch.setattr(memory.torch.cuda, "max_memory_allocated", lambda device=None: 3 * 2**20 + 2**19)
    assert memory.ntire_max_allocated_mib("cuda") == 3.5  # nothing subtracted (weights included), MiB


# ----------------------------------------------------------------------------- split sets in a ranking


def _tm(name, valid_ms, test_ms, **kw):
    return TeamMetrics(name, valid_psnr=29.1, test_psnr=28.8 if test_ms is not None else None,
                       valid_runtime_ms=valid_ms, test_runtime_ms=test_ms, params_m=0.3, flops_g=20.0,
                       acts_m=80.0, mem_mib=300.0, **kw)


@pytest.mark.parametrize("year", [2022, 2023, 2026])
def test_team_timed_on_fewer_splits_is_never_ranked_against_full_ones(year):
    # A: valid only, 10 ms; B: valid 10 + test 30 -> Ave 20 ms. A's 10 ms is not comparable: A unranked.
    a, b = _tm("01_A", 10.0, None), _tm("02_B", 10.0, 30.0)
    assert a.ave_runtime_ms == 10.0 and b.ave_runtime_ms == 20.0
    r = rank_teams(get_rules(year), [a, b])
    main = r.tracks[get_rules(year).main_track]
    assert [n for _, n, _ in main] == ["02_B"] and main[0][0] == 1
    ts = {t.name: t for t in r.teams}
    assert "valid only" in ts["01_A"].unranked and not ts["02_B"].unranked
    js = {t["team"]: t for t in ranking_to_json(r)["teams"]}
    assert js["01_A"]["ave_time_splits"] == ["valid"] and js["01_A"]["ave_time_official"] is False
    # all teams timed on the same single split: compared with each other, the record saying which split
    r1 = rank_teams(get_rules(2023), [_tm("01_A", 10.0, None), _tm("02_B", 20.0, None)])
    assert [n for _, n, _ in r1.tracks["main (runtime)"]] == ["01_A", "02_B"]


# ------------------------------------------------------------------------ rank sums: every track's data


@pytest.mark.parametrize("year,overall,complexity", [
    (2022, "sub-track 2 (overall: runtime, params, FLOPs, activations, memory)", "sub-track 1 (params + FLOPs)"),
    (2023, "overall (runtime, params, FLOPs, activations, memory)", "model complexity (params + FLOPs)"),
])
def test_rank_sum_tracks_memory_decides_the_overall_order(year, overall, complexity):
    def tm(name, t, p, f, a, mem):
        return TeamMetrics(name, valid_psnr=29.1, test_psnr=28.8, valid_runtime_ms=t, test_runtime_ms=t,
                           params_m=p, flops_g=f, acts_m=a, mem_mib=mem)

    # ranks      runtime  params  FLOPs  acts  memory | sum without memory | sum
    # 01_A (10)     1       3       2     1      3     |        7           | 10
    # 02_B (20)     2       2       1     2      1     |        7           |  8
    # 03_C (30)     3       1       3     3      2     |       10           | 12
    # FLOPs 2.0 / 1.0 / 3.0 and acts 50 / 60 / 70: every metric has its own order, so a track that
    # drops or swaps a metric gives other sums. Without memory A and B tie (rank 1, 1).
    teams = [tm("01_A", 10, 0.3, 2.0, 50, 300), tm("02_B", 20, 0.2, 1.0, 60, 100),
             tm("03_C", 30, 0.1, 3.0, 70, 200)]
    r = rank_teams(get_rules(year), teams)
    assert r.tracks["main (runtime)"] == [(1, "01_A", 10.0), (2, "02_B", 20.0), (3, "03_C", 30.0)]
    # params + FLOPs: A 3+2 = 5, B 2+1 = 3, C 1+3 = 4
    assert r.tracks[complexity] == [(1, "02_B", 3.0), (2, "03_C", 4.0), (3, "01_A", 5.0)]
    assert r.tracks[overall] == [(1, "02_B", 8.0), (2, "01_A", 10.0), (3, "03_C", 12.0)]
    assert list(r.tracks) == ["main (runtime)", complexity, overall]


# ------------------------------------------------------------------------------- the report's reading


def _record(team, status="ok", **official):
    figures = {"valid_ave_psnr": 29.1, "test_ave_psnr": 28.8, "valid_ave_runtime": 10.0, "test_ave_runtime": 20.0,
               "num_parameters": 0.3, "flops": 20.0, "activations": 80.0, "num_conv": 30, **official}
    rec = {"kind": "challenge", "team": team, "year": 2023, "official": figures}
    if status is not None:
        rec["status"] = status
    return rec


def test_report_rows_take_no_other_convention_and_no_passing_default():
    from reports.challenge import challenge_rows, results_txt

    recs = [_record("01_A"), _record("02_B", status=None), _record("03_C")]
    recs[0]["metrics"] = {"peak_mem_mib": 99.0, "score": 1.5}  # another convention; the record's own score
    recs[0]["score"] = 1.5
    rows = {r["team"]: r for r in challenge_rows(recs)}
    a, b = rows["01_A"], rows["02_B"]
    assert a["mem_mib"] is None  # valid_memory absent: peak_mem_mib is not NTIRE Mem
    assert a["score"] is None  # 2023 ranks by rank sums: no score, whatever the record says
    assert b["status"] == "unknown" and b["passes"] is False and b["rank_main"] is None  # no status: not ok
    assert a["rank_main"] == 1 and rows["03_C"]["rank_main"] == 1  # same figures: tie
    assert a["ave_time"] == 15.0 and a["ave_time_splits"] == ("valid", "test")
    # one formatter: the report's results.txt is challenge.rank.format_results_txt of the same records
    txt = results_txt(recs)
    assert txt == format_results_txt(metrics_from_record(r) for r in recs)
    cells = [c.strip() for c in txt.splitlines()[1].split("\t")]
    assert cells == ["01_A", "29.10", "28.80", "10.00", "20.00", "15.00", "0.300", "20.00", "80.00", "-", "30"]


def test_report_without_a_year_ranks_nothing():
    from reports.challenge import challenge_rows, challenge_tables

    recs = [_record("01_A"), _record("02_B", valid_ave_runtime=5.0)]
    for r in recs:
        r.pop("year")
    rows = challenge_rows(recs)
    assert all(r["rank_main"] is None and r["passes"] is None and r["score"] is None for r in rows)
    assert all("no challenge year" in r["unranked"] for r in rows)
    t6 = challenge_tables(recs)[0]
    assert all(not r.get("_rank") for r in t6.rows) and all("no challenge year" in r["note"] for r in t6.rows)
    assert challenge_rows(recs, 2023)[0]["team"] == "02_B"  # with the year: ranked by the 2023 rules


def test_report_refuses_records_of_several_years():
    from bench.errors import UserError
    from reports.challenge import challenge_rows

    recs = [_record("01_A"), {**_record("02_B"), "year": 2024}]
    with pytest.raises(UserError, match="several years"):
        challenge_rows(recs)
    with pytest.raises(UserError, match="known years"):
        challenge_rows(recs, 2019)


def test_rank_loads_a_record_without_status_as_unknown(tmp_path):
    rec = _record("01_A", status=None)
    (tmp_path / "01_A.json").write_text(json.dumps(rec))
    (m,) = load_results(tmp_path)
    assert m.status == "unknown"
    r = rank_teams(get_rules(2023), [m])
    assert not r.teams[0].passes_threshold and not r.tracks["main (runtime)"]


def test_results_txt_missing_cells():
    txt = format_results_txt([TeamMetrics("07_X", valid_psnr=26.95)])
    cells = txt.splitlines()[1].split("\t")
    assert cells[1] == "26.95     " and cells[2] == "-         " and cells[5] == "-             "
    assert cells[9] == "-       " and cells[10] == "   -    "  # Conv: right-aligned like its numbers


def test_results_txt_every_missing_cell_has_its_column_width():
    cells = format_results_txt([TeamMetrics("07_X")]).splitlines()[1].split("\t")
    widths = [20, 10, 10, 14, 14, 14, 10, 10, 8, 8]
    assert cells[1:10] == ["-".ljust(w) for w in widths[1:]] and cells[10] == "   -    "


def test_metrics_from_record_shapes_and_statuses():
    below = _record("01_A", status="below-threshold", message="below-threshold: valid 28.9")
    m = metrics_from_record(below)
    assert (m.status, m.message) == ("ok", "")  # re-checked under the ranking's year
    assert rank_teams(get_rules(2023), [m]).tracks["main (runtime)"] == [(1, "01_A", 15.0)]
    broken = metrics_from_record({**_record("02_B", status="broken"), "message": "forward-error: x"})
    assert (broken.status, broken.message) == ("broken", "forward-error: x")
    no_psnr = _record("03_C")
    del no_psnr["official"]["valid_ave_psnr"]
    m = metrics_from_record(no_psnr)
    assert m.status == "incomplete" and "no PSNR" in m.message
    m = metrics_from_record({"kind": "challenge", "model": " 04_D", "foo": 1})
    assert (m.name, m.label, m.status) == ("04_D", " 04_D", "unreadable")
    assert metrics_from_record({"kind": "challenge"}).name == "?"
    row = {"kind": "challenge", "team": " 05_E", "valid_ave_psnr": 26.95, "num_parameters": 0.1, "flops": 5.0}
    m = metrics_from_record(row)  # an official results.json row expanded by the report loader
    assert (m.name, m.label, m.status, m.valid_psnr, m.flops_g) == ("05_E", " 05_E", "ok", 26.95, 5.0)


def test_split_union_counts_only_ok_teams_and_ties_keep_name_order():
    # a broken team timed on valid + test does not make the valid-only ok teams "fewer splits"
    broken = _tm("09_Z", 10.0, 30.0, status="broken")
    r = rank_teams(get_rules(2023), [_tm("02_B", 10.0, None), _tm("01_A", 10.0, None), broken])
    assert r.tracks["main (runtime)"] == [(1, "01_A", 10.0), (1, "02_B", 10.0)]  # tie: by name, not input order
    assert not any(t.unranked for t in r.teams)


def test_score_sub_tracks_show_the_exponential_terms():
    import math

    ok = TeamMetrics("01_A", valid_psnr=27.0, test_psnr=27.1, valid_runtime_ms=3.87, test_runtime_ms=3.87,
                     params_m=0.151, flops_g=4.915)
    r = rank_teams(get_rules(2026), [ok])
    assert r.tracks["sub-track runtime"] == [(1, "01_A", pytest.approx(math.e))]  # exp(2 * 3.87 / 7.74)
    assert r.tracks["sub-track params"] == [(1, "01_A", pytest.approx(math.e ** 2))]  # exp(2 * 0.151 / 0.151)
    assert r.tracks["sub-track FLOPs"] == [(1, "01_A", pytest.approx(math.e))]  # exp(2 * 4.915 / 9.83)
