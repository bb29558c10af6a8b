"""nox sessions: ``tests`` (CI), ``bench`` (the main job), ``lint`` (ruff), ``gpu`` (CUDA smoke check).

Virtual environments include the system site-packages so an already installed torch (e.g. the CPU
build) is reused: pip then sees ``torch`` satisfied and never downloads a CUDA build. On a machine
with no torch at all, pip installs the default wheel for that platform.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

VENV = ["--system-site-packages"]


@nox.session(venv_params=VENV)
def tests(session: nox.Session) -> None:
    """Run the test suite (needs the ground-truth folder: $ESR_BENCH_SHARED, default ../shared)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(venv_params=VENV)
def bench(session: nox.Session) -> None:
    """The main job: complexity, runtime and quality for the zoo, then the HTML report.

    Official checkpoints missing from the weights folder are fetched first (sha256-verified); pass
    arguments after ``--`` to choose models/datasets/device, e.g. ``nox -s bench -- --models agdn``.
    Without network the job still runs: models without weights get complexity and runtime, and
    their quality record says "no checkpoint".
    """
    session.install("-e", ".")
    args = session.posargs or ["--fetch-weights"]
    session.run("esr-bench", "bench", *args)


@nox.session(venv_params=VENV)
def lint(session: nox.Session) -> None:
    """ruff check over the whole repository."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(venv_params=VENV)
def gpu(session: nox.Session) -> None:
    """Short CUDA smoke check (< 3 minutes); prints a table, skips cleanly without CUDA."""
    session.install("-e", ".")
    session.run("python", "-m", "bench.gpu_smoke", *session.posargs)
