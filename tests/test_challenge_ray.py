"""``esr-bench challenge run --executor ray``: each team a Ray task, records equal to the local run's.

Starts a real local Ray instance (2 CPUs). Ray is in the ``test`` extra; the test skips, loudly, where it
is not installed. The wall times of both runs are printed (``-s``) for the README's comparison.
"""

from __future__ import annotations

import time

import pytest

from bench.executors import RayExecutor
from challenge.runner import run_submissions

from .challenge_fixtures import TINY, _tiny_state, team_toml, write_offset_data, write_team

pytestmark = pytest.mark.slow
pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'esr-bench[ray]'")

# what legitimately differs between two runs of the same team
VOLATILE = {"finished_utc", "node", "device_name", "child", "env"}


def _stable(rec: dict) -> dict:
    out = {k: v for k, v in rec.items() if k not in VOLATILE}
    out["metrics"] = {k: v for k, v in (rec.get("metrics") or {}).items() if "time" not in k and "wall" not in k
                      and not k.endswith("_s")}
    out["official"] = {k: v for k, v in (rec.get("official") or {}).items() if "runtime" not in k}
    return out


def test_ray_challenge_run_equals_local(tmp_path):
    sub, data = tmp_path / "sub", tmp_path / "data"
    toml = ["year = 2026\n"]
    for i in range(1, 5):
        write_team(sub, f"{i:02d}", f"T{i}", TINY, "TinySR", _tiny_state())
        toml.append(team_toml(f"{i:02d}", f"T{i}", "TinySR"))
    (sub / "submission.toml").write_text("\n".join(toml))
    write_offset_data(data)
    t0 = time.perf_counter()
    local = run_submissions(sub, tmp_path / "local", data=data, timeout_s=300)
    t_local = time.perf_counter() - t0
    ex = RayExecutor("cpu", num_cpus=2)
    try:
        t0 = time.perf_counter()
        remote = run_submissions(sub, tmp_path / "ray", data=data, timeout_s=300, executor=ex)
        t_ray = time.perf_counter() - t0
    finally:
        ex.close()
    print(f"\nchallenge run, 4 teams: local {t_local:.1f} s, Ray (2 CPUs, instance already up) {t_ray:.1f} s")
    assert [o.team for o in remote] == [o.team for o in local] == [f"{i:02d}_T{i}" for i in range(1, 5)]
    for a, b in zip(local, remote):
        assert b.status == a.status == "ok", (b.team, b.record.get("message"))
        assert _stable(b.record) == _stable(a.record), b.team
        assert b.record["node"]["ray_node_id"]
    # the driver wrote the records: a local re-run reuses every one (same identity)
    again = run_submissions(sub, tmp_path / "ray", data=data, timeout_s=300)
    assert [o.action for o in again] == ["skipped"] * 4
