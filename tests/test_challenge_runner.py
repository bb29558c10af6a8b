"""Resumable challenge runs: SIGKILL the runner mid-way, restart, nothing recomputed or corrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.cli import main
from challenge.rank import format_ranking, load_results, rank_teams
from challenge.rules import get_rules
from challenge.runner import run_submissions

from .challenge_fixtures import TINY, _tiny_state, team_toml, write_offset_data, write_team

REPO = Path(__file__).resolve().parents[1]


def _zoo(root: Path, n: int) -> list[str]:
    toml = ["year = 2026\n"]
    for i in range(1, n + 1):
        write_team(root, f"{i:02d}", f"T{i}", TINY, "TinySR", _tiny_state())
        toml.append(team_toml(f"{i:02d}", f"T{i}", "TinySR"))
    toml.append(team_toml("09", "Broken", "NoSuchClass"))
    write_team(root, "09", "Broken", TINY, "TinySR", _tiny_state())
    (root / "submission.toml").write_text("\n".join(toml))
    return [f"{i:02d}_T{i}" for i in range(1, n + 1)] + ["09_Broken"]


def test_sigkill_and_resume(tmp_path):
    sub, out = tmp_path / "sub", tmp_path / "out"
    labels = _zoo(sub, 2)
    records = out / "challenge"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "bench", "challenge", "run", str(sub), "--out", str(out),
                             "--timeout", "120"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not list(records.glob("*.json")) and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    done_before = sorted(records.glob("*.json"))
    assert 1 <= len(done_before) < len(labels), "the run should be killed part-way"
    mtimes = {p.name: p.stat().st_mtime_ns for p in done_before}
    for p in done_before:
        rec = json.loads(p.read_text())  # complete, parseable records only
        assert rec["kind"] == "challenge" and rec["status"] == "ok"

    outcomes = run_submissions(sub, out, timeout_s=120)
    actions = {o.team: o.action for o in outcomes}
    assert [o.team for o in outcomes] == labels
    assert {t for t, a in actions.items() if a == "skipped"} == {p.stem for p in done_before}
    assert all(a == "ran" for t, a in actions.items() if f"{t}.json" not in mtimes)
    for p in done_before:  # finished teams untouched
        assert p.stat().st_mtime_ns == mtimes[p.name]
    final = sorted(records.glob("*.json"))
    assert [p.stem for p in final] == sorted(labels)
    assert not [p for p in records.iterdir() if p.suffix != ".json"]  # no temp files left behind
    broken = json.loads((records / "09_Broken.json").read_text())
    assert broken["status"] == "broken" and broken["findings"][-1]["code"] == "class-not-found"
    ok = json.loads((records / "01_T1.json").read_text())
    assert ok["official"]["num_parameters"] == 0.003728 and ok["year"] == 2026
    assert ok["official"]["flops"] == 256 * 256 * (3 * 8 * 9 + 8 * 48 * 9) / 1e9

    # a second resume recomputes nothing; --force recomputes the chosen team only
    assert {o.action for o in run_submissions(sub, out)} == {"skipped"}
    forced = run_submissions(sub, out, teams=["09"], force=True)
    assert [(o.team, o.action, o.status) for o in forced] == [("09_Broken", "ran", "broken")]

    # records without --data have no PSNR: rank lists them as incomplete, unranked
    r = rank_teams(get_rules(2026), load_results(out))
    assert {ts.metrics.status for ts in r.teams} == {"incomplete", "broken"}
    assert all(not rows for rows in r.tracks.values())
    assert ("no team is eligible for ranking: 3 team(s), 1 broken, 0 below threshold, 2 without PSNR"
            in format_ranking(r))


def test_stale_records_are_recomputed(tmp_path, capsys):
    """`run --teams 01 --out X`, then the same with --data, must not print "skipped ok"."""
    sub, out, data = tmp_path / "sub", tmp_path / "out", tmp_path / "data"
    _zoo(sub, 1)
    write_offset_data(data)
    (first,) = run_submissions(sub, out, teams=["01"], timeout_s=120)
    assert (first.action, first.status) == ("ran", "ok")
    ident = json.loads(first.path.read_text())["identity"]
    assert ident["checkpoint_sha256"] and ident["data"] is None and ident["settings"]["measure"] == "official"
    assert run_submissions(sub, out, teams=["01"])[0].action == "skipped"
    assert main(["challenge", "run", str(sub), "--teams", "01", "--out", str(out), "--data", str(data),
                 "--timeout", "120"]) == 0
    text = capsys.readouterr().out
    assert "ran (stale: data changed): 01_T1 OK" in text
    assert "PSNR valid 3" in text and "threshold: valid pass (>= 26.90), test pass (>= 26.99)" in text
    rec = json.loads(first.path.read_text())
    assert rec["official"]["valid_ave_psnr"] > 30 and rec["identity"]["data"]["files"] == 6
    assert rec["protocol"]["threads"] == rec["env"]["threads"] == 1
    # a changed manifest entry is a different record
    toml = (sub / "submission.toml").read_text().replace('name = "T1"\n', 'name = "T1"\nkwargs = { channels = 8 }\n')
    (sub / "submission.toml").write_text(toml)
    (again,) = run_submissions(sub, out, teams=["01"], data=data, timeout_s=120)
    assert (again.action, again.reason) == ("ran", "stale: entry changed")
