"""``esr-bench bench --executor ray``: the same records as the local executor; dead workers retried then failed.

Starts a real local Ray instance on this machine's CPUs (Ray is in the ``test`` extra; the test skips,
loudly, where it is not installed).
"""

from __future__ import annotations

import functools
import json
import os
import signal
from pathlib import Path

import pytest

from bench.commands._bench_job import run_bench
from bench.executors import RayExecutor
from tests.fakes_bench import FAKES

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'esr-bench[ray]'")

# fields that legitimately differ between two runs of the same measurement
VOLATILE = {"elapsed_s", "created", "node", "env", "pid"}


def _records(out: Path) -> dict[str, dict]:
    return {str(p.relative_to(out)): json.loads(p.read_text()) for p in sorted(out.rglob("*.json"))
            if p.parent.name in ("complexity", "runtime", "quality")}


def _stable(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in VOLATILE}


def runtime_dies_once(model, scale, *, marker, device="cpu", **kw):
    """Kills its Ray worker on the first attempt for agdn-s (a crash Ray retries), then measures."""
    marker = Path(marker)
    if model == "agdn-s" and not marker.exists():
        marker.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return FAKES["runtime"](model, scale, device=device, **kw)


def runtime_always_dies(model, scale, *, device="cpu", **kw):
    if model == "bicubic":
        os.kill(os.getpid(), signal.SIGKILL)
    return FAKES["runtime"](model, scale, device=device, **kw)


@pytest.fixture(scope="module")
def executor():
    ex = RayExecutor("cpu", num_cpus=2, max_retries=1)
    yield ex
    ex.close()


def test_ray_records_equal_local(tmp_path, executor):
    dies_once = functools.partial(runtime_dies_once, marker=str(tmp_path / "marker"))
    kw = dict(models=["agdn-s", "bicubic"], scales=[4], datasets=["Set5"], device="cpu", progress=False,
              visual=False, report=False)
    run_bench(out=tmp_path / "local", measures=FAKES, **kw)
    s = run_bench(out=tmp_path / "ray", measures={**FAKES, "runtime": dies_once}, executor=executor, **kw)
    local, remote = _records(tmp_path / "local"), _records(tmp_path / "ray")
    assert sorted(local) == sorted(remote) and len(local) == 6
    for name in local:
        assert _stable(remote[name]) == _stable(local[name]), name
        assert remote[name]["node"]["ray_node_id"] and not local[name]["node"].get("ray_node_id")
    assert (tmp_path / "marker").read_text() == "killed once"  # the first attempt really died, the retry ran
    assert s.computed == 6 and not s.failed
    # resume: the driver-written records are reused by a local re-run (same identity)
    again = run_bench(out=tmp_path / "ray", measures=FAKES, **kw)
    assert (again.computed, again.reused) == (0, 6)


def test_ray_dead_worker_recorded_failed(tmp_path, executor):
    s = run_bench(models=["bicubic"], scales=[4], datasets=["Set5"], device="cpu", out=tmp_path / "r",
                  measures={**FAKES, "runtime": runtime_always_dies}, executor=executor, progress=False,
                  visual=False, report=False)
    rec = json.loads((tmp_path / "r" / "runtime" / "bicubic_x4.json").read_text())
    assert rec["status"] == "failed" and "worker failed after 1 retry" in rec["message"]
    assert rec["identity"] and rec["model"] == "bicubic" and rec["kind"] == "runtime"
    assert len(s.failed) == 1 and s.computed == 3
