"""pytest-benchmark benchmarks: the suite's hot paths and a few zoo models (CPU).

Skipped by a plain ``pytest`` (``--benchmark-skip`` in pyproject). Run and compare with::

    OMP_NUM_THREADS=1 pytest tests/benchmarks --benchmark-only --benchmark-autosave
    OMP_NUM_THREADS=1 pytest tests/benchmarks --benchmark-only --benchmark-compare

Nothing heavy happens at import or in fixtures, so skipping costs nothing.
"""

from __future__ import annotations

import random

import pytest
import torch


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_bench_summarize_1000(benchmark):
    from bench.stats import summarize

    rng = random.Random(0)
    xs = [rng.gammavariate(2.0, 5.0) for _ in range(1000)]
    s = benchmark(summarize, xs)
    assert s.n == 1000


def test_bench_robust_loop_overhead(benchmark):
    """Protocol overhead per timed call around a no-op forward (what the suite adds to every timing)."""
    from bench.runtime import PerfCounterTimer, time_repeated

    x = torch.zeros(1)
    times = benchmark(time_repeated, lambda t: t, x, PerfCounterTimer(), warmup=0, repeats=100)
    assert len(times) == 100


def test_bench_cpu_memory_probe(benchmark, one_thread):
    """Cost of one profiler-based CPU forward-peak measurement on a small conv."""
    from bench.runtime import cpu_forward_peak_bytes

    conv = torch.nn.Conv2d(16, 16, 3, padding=1).eval()
    x = torch.rand(1, 16, 64, 64)
    with torch.inference_mode():
        peak = benchmark(cpu_forward_peak_bytes, conv, x)
    assert peak >= 16 * 64 * 64 * 4


@pytest.mark.parametrize("name", ["agdn-s", "rlfn-ntire22", "span-ch28", "efdn"])
def test_bench_zoo_forward_64(benchmark, one_thread, name):
    """x4 forward of a zoo model on a 64x64 LR input (fp32, 1 thread, inference_mode)."""
    from models import create_model, list_models

    if name not in list_models():
        pytest.skip(f"{name} not registered in this checkout")
    model = create_model(name, 4)
    x = torch.rand(1, 3, 64, 64) * model.data_range
    with torch.inference_mode():
        out = benchmark(model, x)
    assert out.shape == (1, 3, 256, 256)
