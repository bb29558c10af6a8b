"""Where the suite finds things: weights, datasets, the shared ground-truth folder (tests only)."""

from __future__ import annotations

import os
from pathlib import Path

from models.weights import default_weights_dir

__all__ = ["default_weights_dir", "data_root", "shared_dir"]


def data_root() -> Path | None:
    """``$ESR_BENCH_DATA`` (root of the benchmark datasets), or ``None`` if unset."""
    env = os.environ.get("ESR_BENCH_DATA")
    return Path(env).expanduser() if env else None


def shared_dir() -> Path:
    """``$ESR_BENCH_SHARED`` (default ``../shared``): ground truth used by the tests, never by the suite."""
    return Path(os.environ.get("ESR_BENCH_SHARED", "../shared")).expanduser()
