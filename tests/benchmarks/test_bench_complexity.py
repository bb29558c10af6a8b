"""pytest-benchmark benchmarks of complexity counting (skipped by a plain ``pytest``).

The issue's target: ``esr-bench complexity --all --json`` (whole zoo, every scale) under 2 minutes on a
2-core machine. Run::

    OMP_NUM_THREADS=1 pytest tests/benchmarks/test_bench_complexity.py --benchmark-only
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("name", ["agdn-s", "rlfn-ntire22"])
def test_bench_measure_complexity(benchmark, one_thread, name):
    """One full record (every counter, shape-only) of a small model."""
    from bench.complexity import measure_complexity

    rec = benchmark.pedantic(measure_complexity, args=(name, 4), rounds=1, iterations=1)
    assert rec.status == "ok"


def test_bench_complexity_all(benchmark, capsys):
    """The whole zoo at every scale, as the CLI runs it (2 worker processes)."""
    import json

    from bench.cli import main

    def run() -> list:
        assert main(["complexity", "--all", "--json", "--jobs", "2"]) == 0
        return json.loads(capsys.readouterr().out)

    recs = benchmark.pedantic(run, rounds=1, iterations=1)
    assert all(r["status"] == "ok" for r in recs)
