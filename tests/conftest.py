"""Shared fixtures. Ground truth comes from $ESR_BENCH_SHARED (default ../shared); never copied here."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ESR_BENCH_SHARED", REPO.parent / "shared")).resolve()

if not (SHARED / "weights" / "MANIFEST.csv").is_file():
    raise pytest.UsageError(
        f"ground-truth folder not found at {SHARED}: set ESR_BENCH_SHARED (default ../shared)"
    )

# The suite finds weights through ESR_BENCH_WEIGHTS; point it at the shared checkpoints for tests.
os.environ.setdefault("ESR_BENCH_WEIGHTS", str(SHARED / "weights"))


def read_reference_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a reference CSV, skipping '#' comment lines."""
    with open(path, newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines))


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def shared_weights() -> Path:
    return SHARED / "weights"


@pytest.fixture(scope="session")
def manifest() -> list[dict[str, str]]:
    return read_reference_csv(SHARED / "weights" / "MANIFEST.csv")


@pytest.fixture(scope="session")
def parity_index() -> list[dict[str, str]]:
    return read_reference_csv(SHARED / "reference" / "parity" / "INDEX.csv")
