"""Executors: local and Ray give the same records; a worker that dies is retried, then recorded as failed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bench.executors import Job, LocalExecutor, make_executor, where


def square(x: int) -> dict:
    return {"status": "ok", "value": x * x, "pid": os.getpid()}


def die_once(marker: str) -> dict:
    """Kills its own worker process on the first attempt (a crash Ray must retry), succeeds after."""
    path = Path(marker)
    if not path.exists():
        path.write_text("attempted")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"status": "ok", "value": "second attempt"}


def always_die() -> dict:
    os.kill(os.getpid(), signal.SIGKILL)
    return {}  # never reached


def test_local_executor_runs_in_order_and_stamps_node():
    jobs = [Job(square, (i,), label=f"sq {i}") for i in range(3)]
    out = list(LocalExecutor("cpu").map(jobs))
    assert [r["value"] for _, r in out] == [0, 1, 4]
    assert all(r["pid"] == os.getpid() for _, r in out)
    stamp = where("cpu")
    assert out[0][1]["node"] == stamp["node"] and out[0][1]["device_name"] == stamp["device_name"]


def test_unknown_executor_and_address_without_ray():
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(ValueError, match="only meaningful with --executor ray"):
        make_executor("local", address="auto")


@pytest.mark.slow
def test_ray_executor_same_values_retry_and_failure(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'esr-bench[ray]')")
    ex = make_executor("ray", "cpu", num_cpus=2)
    try:
        ex.max_retries = 1
        jobs = [Job(square, (i,), meta={"i": i}) for i in range(3)]
        jobs.append(Job(die_once, (str(tmp_path / "marker"),), meta={"i": "retry"}))
        jobs.append(Job(always_die, meta={"i": "dead", "kind": "runtime"}))
        out = {job.meta["i"]: rec for job, rec in ex.map(jobs)}
    finally:
        ex.close()
    assert [out[i]["value"] for i in range(3)] == [0, 1, 4]
    assert all(out[i]["pid"] != os.getpid() for i in range(3))  # ran in Ray workers
    assert all(out[i]["node"].get("ray_node_id") for i in range(3))
    assert out["retry"] == {**out["retry"], "status": "ok", "value": "second attempt"}
    dead = out["dead"]
    assert dead["status"] == "failed" and dead["kind"] == "runtime"
    assert "worker failed after 1 retry" in dead["message"], dead["message"]
